-- wrk script for benchmarks/http_bench.py.
--
--   wrk -s benchmarks/load.lua URL                          GET the URL, as wrk alone would
--   wrk -t20 -c20 -s benchmarks/load.lua URL -- orders FILE  POST /api/orders/ as 20 customers
--
-- Orders: FILE has one customer per line, "<access token> <book id>". Each wrk thread is one
-- customer (thread n takes line n), so run it with as many threads as connections: every
-- connection is then a different user with their own JWT, ordering one copy of their book, again
-- and again. (wrk tells request() nothing about the connection, so one-connection threads are
-- the only way to give each connection an identity.)
--
-- In both modes done() prints one line, "WRK_JSON {...}", with the totals, the latency
-- percentiles and the count of each HTTP status: wrk's own report lumps every non-2xx together,
-- and the bench needs the 201s and the 409s apart.

local threads = {}

function setup(thread)
  thread:set("customer_number", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  if args[1] == "orders" then
    local customers = {}
    for line in io.lines(args[2]) do
      local token, book = line:match("^(%S+)%s+(%d+)%s*$")
      if token then
        table.insert(customers, { token = token, book = book })
      end
    end
    local customer = customers[customer_number % #customers + 1]
    order_request = wrk.format("POST", "/api/orders/", {
      ["Authorization"] = "Bearer " .. customer.token,
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
    }, '{"items": [{"book": ' .. customer.book .. ', "quantity": 1}], '
       .. '"shipping_address": {"full_name": "HTTP Bench", "line1": "1 Load Street", '
       .. '"city": "Albany", "region": "NY", "postal_code": "12207", "country": "US"}, '
       .. '"shipping_method": "bench-post"}')
  end
end

function request()
  return order_request or wrk.request()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses") or {}) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  local counts = {}
  for status, count in pairs(totals) do
    table.insert(counts, string.format('"%d": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, '
      .. '"latency_us": {"p50": %.0f, "p90": %.0f, "p99": %.0f, "max": %.0f}, '
      .. '"statuses": {%s}, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(counts, ", "),
    errors.connect, errors.read, errors.write, errors.timeout
  ))
end
