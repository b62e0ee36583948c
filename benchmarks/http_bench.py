"""The HTTP half of `make bench`: the shop served by gunicorn with production settings, loaded
from another process over loopback, on the catalogue benchmark's 100,000-book database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bookstore_bench python -m benchmarks.http_bench

It prints one table:
1. reads: requests per second and p50/p99 latency of the book list and a search, each beside
   GET /api/health/ (the framework's ceiling on this machine) measured in the same run;
2. order placement: 20 customers (each their own user and JWT) ordering different books, then
   all 20 ordering one hot book with limited stock; successes, 409s, and a check that nothing
   was oversold;
3. full purchases through a local Stripe server: order, payment, card, confirm, and the signed
   webhook that marks the order paid.

Reads and orders are driven by wrk (benchmarks/load.lua); purchases, a few dozen requests, by
threads in this process. Everything listens on 127.0.0.1 and every load line is bounded in time.

The database must be the catalogue benchmark's (`make bench` builds it, through
benchmarks/catalog_bench.py; it is recognised by its marker comment). This benchmark adds no
books: it creates users named http-bench-*@bench.invalid, sets the stock of a few generated
books it uses, and deletes its orders (and their payments) when it starts and when it ends.
"""

import argparse
import json
import os
import platform
import re
import runpy
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOAD_SCRIPT = BASE_DIR / "benchmarks" / "load.lua"
LOG_DIR = BASE_DIR / "var" / "http_bench"

# benchmarks.catalogue's default, which cannot be imported before Django is set up. Any database
# is checked for the catalogue benchmark's marker before anything is written to it.
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bookstore_bench"
WORKERS = 2
# Test-mode-shaped keys that only the local Stripe server accepts (dj-stripe checks the shape).
STRIPE_SECRET_KEY = "sk_test_localstripe0000000000000000"
STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe0000000000000000"
STRIPE_WEBHOOK_SECRET = "whsec_http_bench_localstripe"
CARD_THAT_SUCCEEDS = "4242424242424242"

# (label, path, signed in, whether the ≥ 50% target applies). Anonymous reads come from the
# one-second catalogue cache; a signed-in reader (a customer's JWT) is never served from it, so
# those lines measure the view itself.
READ_LINES = [
    ("GET /api/books/?page_size=20", "/api/books/?page_size=20", False, True),
    ("GET /api/books/?search=tolkien", "/api/books/?search=tolkien&page_size=20", False, False),
    ("signed in: ?page_size=20", "/api/books/?page_size=20", True, True),
    ("signed in: ?search=potter", "/api/books/?search=potter&page_size=20", True, True),
]
HEALTH_PATH = "/api/health/"
TARGET_LIST_SHARE = 0.5  # these reads at ≥ 50% of the health check's requests per second

# --catalogue: the catalogue benchmark's 100,000 books (bench_catalog builds it), or the
# 10,000 goodbooks demo books alone, imported here into an empty database of the benchmark's own.
CATALOGUES = ("bench", "demo")
DEMO_CATALOGUE_SIZE = 10_000

ORDER_CLIENTS = 20
HOT_BOOK_STOCK = 200
# Enough copies that 20 customers ordering for the whole line never run out.
PLENTIFUL_STOCK = 1_000_000
BENCH_EMAIL_DOMAIN = "bench.invalid"
BENCH_EMAIL_PREFIX = "http-bench-"

PASS, FAIL = "✓", "✗"


class BenchError(Exception):
    """The benchmark cannot run here (with the reason, for the person who ran it)."""


# --- Environment and processes ---------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_environment(*, database_url, site_port, stripe_port):
    """The environment of the gunicorn workers, and of this process's Django, which must agree
    with them on the secret key (it mints the customers' JWTs) and on the Stripe settings."""
    stripe_url = f"http://127.0.0.1:{stripe_port}"
    return {
        "DJANGO_SETTINGS_MODULE": "bookstore.settings.production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": "",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": f"http://127.0.0.1:{site_port}",
        # Plain HTTP on loopback: no redirect to https.
        "SECURE_SSL_REDIRECT": "false",
        # No mail leaves the machine, whatever a developer's environment says.
        "EMAIL_URL": "dummy://",
        "SENDGRID_API_KEY": "",
        "EMAIL_HOST": "",
        "ADMINS": "",
        "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": STRIPE_PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_url,
        "STRIPE_JS_URL": f"{stripe_url}/js.stripe.com/v3/",
        "WEB_CONCURRENCY": str(WORKERS),
        "PORT": str(site_port),
        # The order lines measure placing orders under concurrency: each customer places
        # hundreds in seconds, past the per-customer limit that would answer them 429 instead.
        "THROTTLE_ORDER_RATE": "1000000/hour",
    }


def gunicorn_settings():
    """workers, threads, max_requests... as gunicorn.conf.py computes them here."""
    return runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))


@contextmanager
def gunicorn_running(*, port, log_path, max_requests=None):
    """gunicorn as the Procfile runs it (its config file, this process's environment), but bound
    to 127.0.0.1 only, and with `max_requests` instead of the config's when given; stopped when
    the block ends, however it ends."""
    command = [sys.executable, "-m", "gunicorn", "bookstore.wsgi", "--config", "gunicorn.conf.py"]
    # The command line overrides the config file. No control socket: its default path is one
    # per user, and another gunicorn on the machine (`make run`, a colleague's) may hold it.
    command += ["--bind", f"127.0.0.1:{port}", "--no-control-socket"]
    if max_requests is not None:
        command += ["--max-requests", str(max_requests)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = http_json("GET", url + HEALTH_PATH, timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"gunicorn did not start on {url}; see {log_path}")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()  # graceful: workers finish their request
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def server_cpu_seconds(master_pid):
    """CPU time (user + system) used so far by gunicorn's master and its live workers, from
    /proc (None where there is no /proc). Per request, it is the figure a busy machine does not
    distort much: req/s falls when other processes take the CPUs, the CPU a request needs does
    not."""
    proc = Path("/proc")
    try:
        children = (proc / str(master_pid) / "task" / str(master_pid) / "children").read_text()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in [master_pid, *map(int, children.split())]:
        try:
            stat = (proc / str(pid) / "stat").read_text()
        except OSError:  # a worker that just exited
            continue
        # After the command name in parentheses: state is field 3, utime and stime 14 and 15.
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def worker_boots(log_path):
    """How many gunicorn workers started, per its log (max_requests recycles them)."""
    try:
        return log_path.read_text(errors="replace").count("Booting worker with pid")
    except FileNotFoundError:
        return 0


def http_json(method, url, *, token=None, body=None, timeout=30):
    """(status, parsed JSON body or None) of one request; HTTP errors are answers, not raised."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


# --- wrk ------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """One wrk run: throughput, latency and the count of each status."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: int

    @property
    def per_second(self):
        return self.requests / self.seconds if self.seconds else 0.0

    def count(self, status):
        return self.statuses.get(status, 0)

    @property
    def unexpected(self):
        """Responses other than 2xx and 409, plus connection errors and timeouts."""
        other = sum(n for status, n in self.statuses.items() if status >= 300 and status != 409)
        return other + self.socket_errors


def wrk_version():
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError(
            "wrk is not installed: `apt-get install -y wrk` (`make bench-http` does it)."
        )
    output = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"wrk (\S+)", output.stdout + output.stderr)
    return match.group(1) if match else "unknown version"


def wrk(url, *, seconds, connections, threads=1, script_args=(), token=None):
    """Run wrk against `url` for `seconds` (as the holder of the access `token`, if given); its
    figures, from load.lua's WRK_JSON line."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    command += ["-s", str(LOAD_SCRIPT), url]
    if script_args:
        command += ["--", *script_args]
    try:
        # wrk stops itself after `seconds`; the margin only guards against a hung wrk.
        finished = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 30, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"wrk did not finish: {' '.join(command)}") from error
    line = next(
        (line for line in finished.stdout.splitlines() if line.startswith("WRK_JSON ")), None
    )
    if finished.returncode != 0 or line is None:
        raise BenchError(
            f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}"
        )
    figures = json.loads(line.removeprefix("WRK_JSON "))
    errors = figures["errors"]
    return LoadResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["latency_us"]["p50"] / 1000,
        p99_ms=figures["latency_us"]["p99"] / 1000,
        statuses={int(status): count for status, count in figures["statuses"].items()},
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
    )


# --- Bench data ----------------------------------------------------------------------------


def check_database(catalogue, *, progress):
    """The database must be one of the benchmark's, migrated, with its full catalogue: the
    catalogue benchmark's 100,000 books, or (`catalogue` "demo") the 10,000 demo books, which
    are imported here into a database created for them (or an empty one, then marked)."""
    from django.core.management import call_command
    from django.db import connection

    from benchmarks import catalogue as benchmark

    if catalogue == "demo":
        config = connection.settings_dict
        if benchmark.create_database_if_missing(config):
            progress(f"Created the database {config['NAME']!r}")
        try:
            benchmark.claim_bench_database()
        except benchmark.BenchDatabaseError as error:
            raise BenchError(str(error)) from error
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = current_database()"
        )
        (comment,) = cursor.fetchone()
    if comment != benchmark.BENCH_DATABASE_MARKER:
        raise BenchError(
            f"{connection.settings_dict['NAME']!r} is not the catalogue benchmark's database "
            "(no bench_catalog marker); run `make bench`, which builds it, or point "
            f"DATABASE_URL at it ({benchmark.DEFAULT_BENCH_DATABASE_URL})."
        )
    if benchmark.has_unapplied_migrations():
        call_command("migrate", interactive=False, verbosity=0)
    counts = benchmark.catalogue_counts()
    if catalogue == "demo":
        if counts.total == 0:
            progress("Importing the 10,000 demo books (once; later runs reuse them)...")
            benchmark.build_catalogue(size=DEMO_CATALOGUE_SIZE, progress=progress)
            benchmark.vacuum_analyze_catalogue()
            counts = benchmark.catalogue_counts()
        if counts.total != DEMO_CATALOGUE_SIZE or counts.generated:
            raise BenchError(
                f"The catalogue has {counts.total:,} books ({counts.generated:,} generated), "
                f"not the {DEMO_CATALOGUE_SIZE:,} demo books: use a database of its own for "
                "--catalogue demo."
            )
        return counts
    if counts.total != benchmark.CATALOGUE_SIZE or not counts.real:
        raise BenchError(
            f"The catalogue has {counts.total:,} books, not {benchmark.CATALOGUE_SIZE:,}: run "
            "`make bench` (benchmarks/catalog_bench.py) first, which builds it."
        )
    return counts


BENCH_SHIPPING_METHOD = "bench-post"
BENCH_ADDRESS = {
    "full_name": "HTTP Bench",
    "line1": "1 Load Street",
    "city": "Albany",
    "region": "NY",
    "postal_code": "12207",
    "country": "US",
}


def bench_order_body(book_id):
    """An order as a storefront sends it: a book, an address and a shipping method."""
    return {
        "items": [{"book": book_id, "quantity": 1}],
        "shipping_address": BENCH_ADDRESS,
        "shipping_method": BENCH_SHIPPING_METHOD,
    }


def bench_users(prefix, count):
    """`count` customers of the benchmark's own (created once, reused), in a stable order,
    and the shipping method their orders use."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from orders.models import ShippingMethod

    ShippingMethod.objects.get_or_create(
        code=BENCH_SHIPPING_METHOD, defaults={"name": "Bench post", "price": Decimal("3.00")}
    )

    User = get_user_model()
    users = []
    for number in range(count):
        email = f"{BENCH_EMAIL_PREFIX}{prefix}-{number:02d}@{BENCH_EMAIL_DOMAIN}"
        user = User.objects.filter(email=email).first()
        if user is None:
            # No password: nobody logs in as them; the benchmark mints their tokens.
            user = User(email=email, first_name="HTTP", last_name="bench")
            user.set_unusable_password()
            user.save()
        users.append(user)
    return users


def access_token(user):
    from rest_framework_simplejwt.tokens import AccessToken

    return str(AccessToken.for_user(user))


def all_bench_users():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(
        email__startswith=BENCH_EMAIL_PREFIX, email__endswith=f"@{BENCH_EMAIL_DOMAIN}"
    )


def delete_bench_orders(book_ids):
    """Delete every order (with its payments) of the benchmark's users, then set the books'
    reserved counts to what the remaining pending orders hold, so the hold stays consistent.
    Their Stripe customer records go too, as do the webhook endpoints of earlier runs (one per
    gunicorn port): each run's local Stripe server starts empty. (dj-stripe's copies of the
    Stripe objects, a few rows per purchase, stay.)"""
    from django.db import transaction
    from django.db.models import Q, Sum
    from django.db.models.functions import Coalesce
    from djstripe.models import WebhookEndpoint

    from catalog.models import Book
    from orders.models import Order, OrderStatus
    from payments.models import Payment, StripeCustomer

    users = all_bench_users()
    with transaction.atomic():
        Payment.objects.filter(order__user__in=users).delete()
        Order.objects.filter(user__in=users).delete()
        StripeCustomer.objects.filter(user__in=users).delete()
        # Only this benchmark serves the bench database's shop, always on 127.0.0.1.
        WebhookEndpoint.objects.filter(url__startswith="http://127.0.0.1:").delete()
        held = Book.objects.filter(pk__in=book_ids).annotate(
            held=Coalesce(
                Sum(
                    "order_items__quantity",
                    filter=Q(order_items__order__status=OrderStatus.PENDING),
                ),
                0,
            )
        )
        # Run while no server is up: nothing else changes these rows meanwhile.
        for book_id, quantity in held.values_list("pk", "held"):
            Book.objects.filter(pk=book_id).update(reserved_quantity=quantity)


def bench_books(count):
    """`count` active generated books (the newest ids; the catalogue benchmark's searches and
    detail page use real books), whose stock this benchmark may set; in the demo catalogue,
    which has none, the newest real ones."""
    from catalog.models import Book

    books = Book.objects.active()
    if books.filter(source_id__isnull=True).exists():
        books = books.filter(source_id__isnull=True)
    books = list(books.order_by("-pk").values_list("pk", flat=True)[:count])
    if len(books) < count:
        raise BenchError(f"Need {count} generated books, found {len(books)}.")
    return books


def set_stock(book_ids, quantity):
    from catalog.models import Book

    # Only after delete_bench_orders: nothing of ours is reserved, so `quantity` ≥ reserved.
    Book.objects.filter(pk__in=book_ids).update(stock_quantity=quantity)


@dataclass
class StockCheck:
    consistent: bool  # reserved == sum of pending order quantities, for every book
    within_stock: bool  # 0 ≤ reserved ≤ on hand, and on hand ≥ 0
    pending_orders: int  # pending orders of the benchmark's users on these books

    @property
    def ok(self):
        return self.consistent and self.within_stock


def stock_check(book_ids):
    from django.db.models import Q, Sum
    from django.db.models.functions import Coalesce

    from catalog.models import Book
    from orders.models import Order, OrderStatus

    pending = Q(order_items__order__status=OrderStatus.PENDING)
    books = Book.objects.filter(pk__in=book_ids).annotate(
        held=Coalesce(Sum("order_items__quantity", filter=pending), 0)
    )
    consistent = within_stock = True
    for book in books:
        consistent &= book.reserved_quantity == book.held
        within_stock &= 0 <= book.reserved_quantity <= book.stock_quantity
    orders = (
        Order.objects.filter(
            user__in=all_bench_users(), status=OrderStatus.PENDING, items__book__in=book_ids
        )
        .distinct()
        .count()
    )
    return StockCheck(consistent=consistent, within_stock=within_stock, pending_orders=orders)


# --- The three parts ------------------------------------------------------------------------


@dataclass
class ReadLine:
    label: str
    result: LoadResult
    health: LoadResult  # the ceiling, measured just before this line
    targeted: bool
    signed_in: bool = False
    cpu_ms: float | None = None  # gunicorn's CPU per request, this line and its health line
    health_cpu_ms: float | None = None

    @property
    def share(self):
        return self.result.per_second / self.health.per_second

    @property
    def cpu_share(self):
        """The health check's CPU per request over this line's: what `share` would be if
        gunicorn had the CPUs to itself (PostgreSQL's and the load generator's part aside)."""
        if not self.cpu_ms or not self.health_cpu_ms:
            return None
        return self.health_cpu_ms / self.cpu_ms


def measure_reads(site, *, server_pid, seconds, warmup, connections, progress):
    """Each read line right after a health line, so each ratio compares neighbours in time."""
    from django.db import connection

    # The signed-in reader: a customer of the benchmark's own, whose token lasts the run.
    (reader,) = bench_users("reader", 1)
    reader_token = access_token(reader)
    connection.close()  # no connection of ours idles through the load
    lines = []
    for label, path, signed_in, targeted in READ_LINES:
        token = reader_token if signed_in else None
        status, _ = http_json("GET", site + path, token=token)
        if status != 200:
            raise BenchError(f"{label}: {status}")
        measured, cpu_ms = {}, {}
        for name, target, target_token in (
            ("health", HEALTH_PATH, None),
            ("read", path, token),
        ):
            who = " (signed in)" if target_token else ""
            progress(f"  {target}{who}: {warmup} s warm-up, {seconds} s measured")
            if warmup > 0:
                # It reaches both workers: imports, DB connection, PostgreSQL's caches.
                wrk(site + target, seconds=warmup, connections=connections, token=target_token)
            cpu_before = server_cpu_seconds(server_pid)
            measured[name] = wrk(
                site + target, seconds=seconds, connections=connections, token=target_token
            )
            cpu_after = server_cpu_seconds(server_pid)
            if cpu_before is not None and cpu_after is not None and measured[name].requests:
                cpu_ms[name] = (cpu_after - cpu_before) * 1000 / measured[name].requests
        lines.append(
            ReadLine(
                label=label,
                result=measured["read"],
                health=measured["health"],
                targeted=targeted,
                signed_in=signed_in,
                cpu_ms=cpu_ms.get("read"),
                health_cpu_ms=cpu_ms.get("health"),
            )
        )
    return lines


@dataclass
class OrderLine:
    label: str
    result: LoadResult
    check: StockCheck
    books: list[int]
    connections: int
    sold_out_ok: bool = True  # hot book: every copy sold before anyone was refused

    @property
    def orders_match(self):
        """One pending order in the database per 201, plus at most one per connection: wrk
        stops counting at the deadline, but the requests it had in flight still complete."""
        created = self.result.count(201)
        return created <= self.check.pending_orders <= created + self.connections

    @property
    def ok(self):
        # A refusal other than 409 (a 429, a 500) means the line measured something else.
        return (
            self.check.ok and self.orders_match and self.sold_out_ok and self.result.unexpected == 0
        )


def measure_orders(site, *, seconds, workdir, progress):
    customers = bench_users("customer", ORDER_CLIENTS)
    books = bench_books(ORDER_CLIENTS + 1)
    spread_books, hot_book = books[:ORDER_CLIENTS], books[ORDER_CLIENTS]
    set_stock(spread_books, PLENTIFUL_STOCK)
    set_stock([hot_book], HOT_BOOK_STOCK)
    tokens = [access_token(user) for user in customers]

    lines = []
    scenarios = [
        (f"{ORDER_CLIENTS} customers, {ORDER_CLIENTS} different books", spread_books),
        (f"{ORDER_CLIENTS} customers, 1 hot book ({HOT_BOOK_STOCK} copies)", [hot_book]),
    ]
    for label, scenario_books in scenarios:
        progress(f"  {label}: {seconds} s")
        customers_file = workdir / "customers.txt"
        customers_file.write_text(
            "".join(
                f"{token} {scenario_books[number % len(scenario_books)]}\n"
                for number, token in enumerate(tokens)
            )
        )
        # One wrk thread per connection: each connection is one customer (see load.lua).
        result = wrk(
            f"{site}/api/orders/",
            seconds=seconds,
            connections=ORDER_CLIENTS,
            threads=ORDER_CLIENTS,
            script_args=("orders", str(customers_file)),
        )
        check = stock_check(scenario_books)
        line = OrderLine(
            label=label,
            result=result,
            check=check,
            books=scenario_books,
            connections=ORDER_CLIENTS,
        )
        if scenario_books == [hot_book]:
            # Never more orders than copies; and every copy sold before anyone heard 409.
            check.within_stock &= check.pending_orders <= HOT_BOOK_STOCK
            line.sold_out_ok = result.count(409) == 0 or check.pending_orders == HOT_BOOK_STOCK
        lines.append(line)
    return lines


@dataclass
class Purchase:
    steps_ms: dict[str, float] = field(default_factory=dict)
    to_paid_ms: float | None = None
    error: str = ""


PURCHASE_STEPS = ["order", "payment", "card", "confirm", "webhook"]


def one_purchase(site, stripe_url, *, token, book_id, paid_timeout):
    """What a customer and the pay page do, timed from placing the order until our database has
    the order paid (the local Stripe server sends the webhook about a second after confirm)."""
    from django.db import connection

    from orders.models import Order, OrderStatus
    from payments.tests.localstripe import card_payment_method

    purchase = Purchase()
    started = step_started = time.perf_counter()

    def step(name):
        nonlocal step_started
        now = time.perf_counter()
        purchase.steps_ms[name] = (now - step_started) * 1000
        step_started = now

    try:
        body = bench_order_body(book_id)
        status, order = http_json("POST", f"{site}/api/orders/", token=token, body=body)
        if status != 201:
            purchase.error = f"order {status}: {order}"
            return purchase
        step("order")
        status, payment = http_json(
            "POST", f"{site}/api/payments/", token=token, body={"order": order["id"]}
        )
        if status != 201:
            purchase.error = f"payment {status}: {payment}"
            return purchase
        step("payment")
        payment_method = card_payment_method(
            stripe_url,
            setup_client_secret=payment["setup_intent_client_secret"],
            publishable_key=payment["publishable_key"],
            number=CARD_THAT_SUCCEEDS,
        )
        step("card")
        status, confirmed = http_json(
            "POST",
            f"{site}/api/payments/{payment['id']}/confirm/",
            token=token,
            body={"payment_method": payment_method},
        )
        if status != 200 or confirmed.get("next_step") != "succeeded":
            purchase.error = f"confirm {status}: {confirmed}"
            return purchase
        step("confirm")
        # Polling the database, not the API, so the waiting adds no load to the two workers.
        deadline = time.monotonic() + paid_timeout
        paid = Order.objects.filter(pk=order["id"], status=OrderStatus.PAID)
        while not paid.exists():
            if time.monotonic() > deadline:
                purchase.error = f"order {order['id']} not paid after {paid_timeout} s"
                return purchase
            time.sleep(0.02)
        step("webhook")
        purchase.to_paid_ms = (time.perf_counter() - started) * 1000
        status, seen = http_json("GET", f"{site}/api/orders/{order['id']}/", token=token)
        if status != 200 or seen.get("status") != "paid":
            purchase.error = f"GET order {status}: {seen and seen.get('status')}"
        return purchase
    except Exception as error:  # a broken purchase is reported, the others go on
        purchase.error = f"{type(error).__name__}: {error}"
        return purchase
    finally:
        connection.close()  # this thread's own database connection


@dataclass
class PurchaseRun:
    purchases: list[Purchase]
    seconds: float
    clients: int
    stock_ok: bool

    @property
    def completed(self):
        return [purchase for purchase in self.purchases if not purchase.error]

    @property
    def ok(self):
        return self.stock_ok and len(self.completed) == len(self.purchases)


def measure_purchases(site, stripe_url, *, count, clients, paid_timeout, progress):
    from catalog.models import Book

    buyers = bench_users("buyer", clients)
    tokens = [access_token(user) for user in buyers]
    # Each buyer buys copies of a book of their own, past the ones the order lines used.
    books = bench_books(ORDER_CLIENTS + 1 + clients)[ORDER_CLIENTS + 1 :]
    stock = 1_000
    set_stock(books, stock)
    progress(f"  {count} purchases, {clients} at a time")
    lock = threading.Lock()
    remaining = [count]

    def buyer(number):
        done = []
        while True:
            with lock:
                if remaining[0] == 0:
                    return done
                remaining[0] -= 1
            done.append(
                one_purchase(
                    site,
                    stripe_url,
                    token=tokens[number],
                    book_id=books[number],
                    paid_timeout=paid_timeout,
                )
            )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        purchases = [p for batch in pool.map(buyer, range(clients)) for p in batch]
    seconds = time.perf_counter() - started
    # Paid orders took their copies: on hand went down by one per purchase, nothing held.
    paid = len([p for p in purchases if not p.error])
    copies = Book.objects.filter(pk__in=books).values_list("stock_quantity", "reserved_quantity")
    on_hand = sum(on for on, _ in copies)
    stock_ok = stock_check(books).ok and on_hand == stock * len(books) - paid
    return PurchaseRun(purchases=purchases, seconds=seconds, clients=clients, stock_ok=stock_ok)


# --- Report ---------------------------------------------------------------------------------


def percentile(samples, rank):
    """Nearest rank: with 30 samples, p99 is the slowest."""
    ordered = sorted(samples)
    return ordered[max(0, -(-rank * len(ordered) // 100) - 1)]


def _ms(value):
    return "-" if value is None else f"{value:.2f}"


def _share(value):
    return "-" if value is None else f"{value:.0%}"


def mark(passed):
    return PASS if passed else FAIL


def write_report(write, *, facts, reads, orders, purchases, wall_seconds):
    write("")
    write("HTTP benchmark (python -m benchmarks.http_bench)")
    write(
        f"  CPUs:        {facts['cpus']} (gunicorn, PostgreSQL, the local Stripe server and the "
        f"load generator share them); load average at the start {facts['load_average']:.2f}"
    )
    write(f"  PostgreSQL:  {facts['postgres']}")
    write(f"  Books:       {facts['books']}")
    write(f"  Server:      {facts['server']}")
    write(f"  Load:        {facts['load']}")

    write("")
    write(f"Reads   ({facts['read_method']})")
    header = (
        f"{'request':<32} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} | "
        f"{'health req/s':>12} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} | {'ratio':>5}  "
        f"{'≥' + format(TARGET_LIST_SHARE, '.0%'):>5} | {'CPU ms':>6} {'health':>6} {'ratio':>5}"
    )
    write(header)
    write("-" * len(header))
    for line in reads:
        result, health = line.result, line.health
        target = mark(line.share >= TARGET_LIST_SHARE) if line.targeted else ""
        write(
            f"{line.label:<32} {result.per_second:>7.0f} {result.p50_ms:>7.1f} "
            f"{result.p99_ms:>7.1f} {result.unexpected:>6} | {health.per_second:>12.0f} "
            f"{health.p50_ms:>7.1f} {health.p99_ms:>7.1f} {health.unexpected:>6} | "
            f"{line.share:>5.0%}  {target:>5} | {_ms(line.cpu_ms):>6} {_ms(line.health_cpu_ms):>6} "
            f"{_share(line.cpu_share):>5}"
        )
    write("-" * len(header))
    width = max(len(line.label) for line in reads)
    for line in reads:
        if line.targeted:
            write(
                f"Target: {line.label:<{width}} ≥ {TARGET_LIST_SHARE:.0%} of the health check's "
                f"req/s   {mark(line.share >= TARGET_LIST_SHARE)} {line.share:.0%}"
            )
    write(
        "anonymous reads are served from the one-second catalogue cache; signed in: a "
        "customer's JWT (Authorization: Bearer), never cached"
    )
    write(
        "CPU ms: gunicorn's CPU time (master and workers, user + system) per request, for the "
        "line and its health line;\n  its ratio (health's over the line's) is what the req/s "
        "ratio tends to when nothing else\n  competes for the CPUs, leaving PostgreSQL's and "
        "wrk's share out"
    )
    write("errors: responses other than 2xx, plus connection errors and timeouts")
    if orders is None:
        write("")
        write("Orders and purchases skipped (--reads-only)")
        write(f"Wall time: {wall_seconds:.0f} s")
        return

    write("")
    write(
        f"Orders   (POST /api/orders/, 1 copy per order, {ORDER_CLIENTS} concurrent customers, "
        f"each their own user + JWT; {facts['order_seconds']} s per line)"
    )
    header = (
        f"{'scenario':<40} {'orders/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'201':>6} {'409':>6} "
        f"{'other':>5} {'in DB':>6} | check"
    )
    write(header)
    write("-" * len(header))
    for line in orders:
        result = line.result
        verdict = f"no oversell {mark(line.check.ok and line.orders_match)}"
        verdict += f", no other answer {mark(result.unexpected == 0)}"
        if len(line.books) == 1:
            sold = line.check.pending_orders
            verdict += f", sold {sold}/{HOT_BOOK_STOCK} {mark(line.sold_out_ok)}"
        write(
            f"{line.label:<40} {result.per_second:>8.0f} {result.p50_ms:>7.1f} "
            f"{result.p99_ms:>7.1f} {result.count(201):>6} {result.count(409):>6} "
            f"{result.unexpected:>5} {line.check.pending_orders:>6} | {verdict}"
        )
    write("-" * len(header))
    write(
        "no oversell: reserved == the pending orders' copies and 0 ≤ reserved ≤ on hand for each "
        "book;\n  pending orders in the DB ('in DB') == the 201s, plus at most one per connection "
        "(wrk stops counting\n  at its deadline while its last requests still complete); "
        f"hot book: never more than {HOT_BOOK_STOCK} orders"
    )

    write("")
    done = purchases.completed
    write(
        f"Purchases   (order → POST /api/payments/ → card at the local Stripe server → "
        f"confirm → signed webhook marks it paid; {len(purchases.purchases)} purchases, "
        f"{purchases.clients} at a time)"
    )
    if done:
        to_paid = [purchase.to_paid_ms for purchase in done]
        write(
            f"  completed {len(done)}/{len(purchases.purchases)} in {purchases.seconds:.1f} s: "
            f"{len(done) / purchases.seconds:.2f} purchases/s; order → paid in the database: "
            f"p50 {percentile(to_paid, 50):.0f} ms, p99 {percentile(to_paid, 99):.0f} ms"
        )
        medians = ", ".join(
            f"{name} {statistics.median(p.steps_ms[name] for p in done):.0f}"
            for name in PURCHASE_STEPS
        )
        write(f"  median per step (ms): {medians}")
        write(
            "  (the local Stripe server sends its webhooks about 1 s after the confirm, "
            "so 'webhook' is mostly that delay)"
        )
    failed = [purchase for purchase in purchases.purchases if purchase.error]
    for purchase in failed[:5]:
        write(f"  failed: {purchase.error[:200]}")
    write(f"  stock: on hand down by one per purchase, nothing left held {mark(purchases.ok)}")

    write("")
    write(
        f"gunicorn workers booted: {facts['worker_boots']()} ({WORKERS} at start; any more are "
        f"max_requests recycles or crashes); its log: {facts['log_path']}"
    )
    write(f"Wall time: {wall_seconds:.0f} s")


# --- Main -----------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help="the catalogue benchmark's database (default: DATABASE_URL, else the bench default)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per load line")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per read line")
    parser.add_argument(
        "--connections",
        type=int,
        default=4,
        help=(
            "concurrent connections for the reads (default 4, two per worker: more only adds "
            "queueing to the latency, not requests per second)"
        ),
    )
    parser.add_argument(
        "--catalogue",
        choices=CATALOGUES,
        default="bench",
        help=(
            "bench: the catalogue benchmark's 100,000 books (default; `make bench` builds them); "
            "demo: the 10,000 goodbooks demo books alone, imported on the first run into the "
            "database given (created if missing; a database with other data is refused)"
        ),
    )
    parser.add_argument(
        "--reads-only", action="store_true", help="measure the reads only: no orders, no purchases"
    )
    parser.add_argument("--purchases", type=int, default=30)
    parser.add_argument("--purchase-clients", type=int, default=5)
    parser.add_argument(
        "--recycle-workers",
        action="store_true",
        help=(
            "keep gunicorn.conf.py's max_requests; by default the bench turns recycling off, "
            "since at the health check's rate it restarts each worker every few seconds and the "
            "ceiling would measure worker boots"
        ),
    )
    args = parser.parse_args(argv)
    started = time.monotonic()

    # A `kill` must stop gunicorn and the Stripe server too: make it unwind like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    database_url = args.database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    site_port, stripe_port = free_port(), free_port()
    os.environ.update(
        production_environment(
            database_url=database_url, site_port=site_port, stripe_port=stripe_port
        )
    )
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from benchmarks import catalogue as benchmark
    from payments import localstripe_server
    from payments.stripe_setup import local_server_register_webhook, stripe_setup

    def progress(message):
        print(message, file=sys.stderr, flush=True)

    try:
        counts = check_database(args.catalogue, progress=progress)
    except BenchError:
        raise
    except Exception as error:
        raise BenchError(f"Cannot use the database at {database_url}: {error}") from error
    wrk_release = wrk_version()
    config = gunicorn_settings()
    log_path = LOG_DIR / "gunicorn.log"
    database = settings.DATABASES["default"]
    cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    facts = {
        "cpus": os.cpu_count(),
        # Others may share the machine: a load well above 0 at the start explains noisy figures.
        "load_average": os.getloadavg()[0],
        "postgres": (
            f"{benchmark.server_facts()['version']}, database {database['NAME']} on "
            f"{database['HOST'] or 'local socket'}:{database['PORT'] or 5432}"
        ),
        "books": (
            f"{counts.total:,} ({counts.real:,} imported from goodbooks-10k + "
            f"{counts.generated:,} generated variants)"
        ),
        "server": (
            f"gunicorn {_version('gunicorn')} (gunicorn.conf.py) on 127.0.0.1: "
            f"{config['workers']} sync workers x {config['threads']} thread, access log on, "
            + (
                f"max_requests {config['max_requests']}±{config['max_requests_jitter']}"
                if args.recycle_workers
                else f"max_requests off (config: {config['max_requests']}"
                f"±{config['max_requests_jitter']}; --recycle-workers)"
            )
            + f"\n               bookstore.settings.production: DEBUG off, "
            f"{settings.LOGGING['handlers']['console']['formatter']} logs, CONN_MAX_AGE "
            f"{database['CONN_MAX_AGE']}, cache {cache}; Python {platform.python_version()}"
        ),
        "load": f"wrk {wrk_release} (a separate process) over loopback; closed loop",
        "read_method": (
            f"wrk, {args.connections} connections, {args.warmup} s warm-up + {args.seconds} s "
            "per line; each line right after its own health line"
        ),
        "order_seconds": args.seconds,
        "worker_boots": lambda: worker_boots(log_path),
        "log_path": log_path.relative_to(BASE_DIR),
    }

    spread_and_hot = bench_books(ORDER_CLIENTS + 1 + args.purchase_clients)
    delete_bench_orders(spread_and_hot)
    connection.close()  # no connection of ours idles through the load
    try:
        # The servers stop (the stack unwinds) before their folder is deleted.
        with tempfile.TemporaryDirectory() as workdir, ExitStack() as stack:
            progress(f"Starting the local Stripe server on 127.0.0.1:{stripe_port}...")
            stripe_url = stack.enter_context(
                localstripe_server.running(
                    port=stripe_port, data_dir=Path(workdir) / "localstripe", from_scratch=True
                )
            )
            progress(f"Starting gunicorn ({WORKERS} workers) on 127.0.0.1:{site_port}...")
            site, server_pid = stack.enter_context(
                gunicorn_running(
                    port=site_port,
                    log_path=log_path,
                    max_requests=None if args.recycle_workers else 0,
                )
            )
            local_server_register_webhook(stripe_setup())
            connection.close()

            progress("Reads (wrk):")
            reads = measure_reads(
                site,
                server_pid=server_pid,
                seconds=args.seconds,
                warmup=args.warmup,
                connections=args.connections,
                progress=progress,
            )
            orders = purchases = None
            if not args.reads_only:
                progress("Orders (wrk):")
                orders = measure_orders(
                    site, seconds=args.seconds, workdir=Path(workdir), progress=progress
                )
                connection.close()
                progress("Purchases:")
                purchases = measure_purchases(
                    site,
                    stripe_url,
                    count=args.purchases,
                    clients=args.purchase_clients,
                    paid_timeout=30,
                    progress=progress,
                )
            progress("Stopping gunicorn and the local Stripe server...")
    finally:
        delete_bench_orders(spread_and_hot)
    write_report(
        print,
        facts=facts,
        reads=reads,
        orders=orders,
        purchases=purchases,
        wall_seconds=time.monotonic() - started,
    )
    # The targets are reported, not enforced (as bench_catalog without --check); a broken
    # invariant or a failed purchase is a bug, and fails the command.
    if args.reads_only:
        return 0
    all_passed = all(line.ok for line in orders) and purchases.ok
    return 0 if all_passed else 1


def _version(distribution):
    from importlib.metadata import version

    return version(distribution)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"http_bench: {error}", file=sys.stderr)
        sys.exit(2)
