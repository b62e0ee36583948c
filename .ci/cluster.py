"""Multi-instance proof: the shop on three web instances and two clocks at once, sharing one
PostgreSQL database and one Redis, with the local Stripe server; driven round-robin over HTTP,
then checked. Exits non-zero on any violation.

    python .ci/cluster.py [--postgres postgres://postgres@127.0.0.1:5432]
                          [--database bookstore_cluster] [--redis redis://127.0.0.1:6379/14]

What runs (everything on 127.0.0.1, production settings, logs in var/cluster/):
- the Procfile's release command (migrate, stripe_setup) against a fresh database, which
  registers the webhook of the first instance with the local Stripe server;
- 3 x gunicorn (the Procfile's web command, 2 workers each) on their own ports;
- 2 x `manage.py run_jobs --every 2` (the Procfile's clock, every job every 2 seconds), each
  writing the emails it sends to a folder of its own (the filebased email backend);
- orders hold their copies for ORDER_HOLD_SECONDS (20 s), so lapsed orders expire during the run.

What it does, each request to the next instance in turn, each customer from an address of its
own (X-Forwarded-For behind NUM_PROXIES=1, as on Heroku):
registrations and logins; 11 logins from one client (the 11th must be 429, whichever instance
answers); a storm of buyers on a hot book with few copies; full purchases with card 4242 (the
webhook reaches the first instance only); declines (4000000000000341); cancellations; orders
left to expire; and, all along, anonymous reads of the hot book from every instance.

What it checks (and prints): no oversell (on hand and reserved match the paid and pending orders
exactly), each paid order's stock committed once, exactly one receipt per paid order and one
failure email per failed payment (two clocks sending), every lapsed order expired once (and
told once), every webhook applied once, anonymous reads never staler than
CATALOGUE_CACHE_SECONDS after a change, and no 5xx anywhere (client side and access logs).

Then two faults, and every check above still holds with their orders counted in:
- a Redis outage: the run's own redis-server (started by this script when `redis-server` is on
  the PATH; else the shared one given by --redis, and the outage is skipped) is killed while a
  customer buys and anonymous readers browse on every instance: all answers 2xx, every
  instance's /api/health/ says "degraded"; after a restart on the same port, "ok" again;
- a killed worker: one gunicorn worker of instance 2 is killed (SIGKILL); a customer's order
  with an Idempotency-Key is sent there and retried on instance 3: one order, replayed.
"""

import argparse
import email
import itertools
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LOG_DIR = ROOT / "var" / "cluster"

INSTANCES = 3
WORKERS_PER_INSTANCE = 2
CLOCKS = 2
CLOCK_EVERY_SECONDS = 2
HOLD_SECONDS = 30
CACHE_SECONDS = 1
HOT_COPIES = 5
STORM_BUYERS = 12
PURCHASES = 6
DECLINES = 3
CANCELLATIONS = 3
LAPSES = 3
LOGIN_LIMIT = 10  # as THROTTLE_LOGIN_RATE's default, 10/min
PASSWORD = "cluster-proof-Pa55word"
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"
STRIPE_SECRET_KEY = "sk_test_localstripe0000000000000000"
STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe0000000000000000"
STRIPE_WEBHOOK_SECRET = "whsec_cluster_localstripe"
METRICS_TOKEN = secrets.token_urlsafe(24)
REDIS_OUTAGE_SECONDS = 4
# Views whose requests the script does not send itself (so not in its own tally).
NOT_OURS = {"health", "stripe-webhook", "metrics"}


class Violation(Exception):
    pass


# Issue target: a reset or verification email within a few seconds of its commit.
EMAIL_P95_SECONDS = 5


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_command(name):
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"Procfile has no {name} process")


def say(message):
    print(message, flush=True)


# --- HTTP, round-robin ----------------------------------------------------------------------


class Cluster:
    """Sends each request to the next instance; remembers every answer for the report."""

    def __init__(self, urls):
        self.urls = urls
        self._next = itertools.cycle(range(len(urls)))
        self._lock = threading.Lock()
        self.responses = []  # (label, instance, status, seconds)

    def request(
        self,
        method,
        path,
        *,
        label,
        body=None,
        token=None,
        client_ip=None,
        instance=None,
        headers=None,
    ):
        with self._lock:
            index = next(self._next) if instance is None else instance
        headers = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json_dumps(body)
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if client_ip:
            headers["X-Forwarded-For"] = client_ip
        request = urllib.request.Request(
            self.urls[index] + path, data=data, headers=headers, method=method
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # nosec B310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        seconds = time.monotonic() - started
        with self._lock:
            self.responses.append((label, index, status, seconds))
        return status, json_loads(raw), started, time.monotonic()


def json_dumps(value):
    import json

    return json.dumps(value).encode()


def json_loads(raw):
    import json

    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


# --- Processes ------------------------------------------------------------------------------


def wait_until(predicate, *, timeout, what, poll=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise Violation(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def process(command, *, env, log_name):
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / log_name, "wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class RedisServer:
    """The run's own redis-server, on a free port, which the faults phase kills and restarts."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_until(answers, timeout=10, what="redis-server")

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def health(url):
    try:
        with urllib.request.urlopen(f"{url}/api/health/", timeout=5) as response:  # nosec B310
            return response.status, json_loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json_loads(error.read())
    except OSError:
        return None, None


def web_up(url):
    try:
        with urllib.request.urlopen(f"{url}/api/health/", timeout=2) as response:  # nosec B310
            return response.status == 200
    except OSError:
        return False


# --- The scenario ---------------------------------------------------------------------------


GROUP_NETWORKS = {"storm": 1, "buy": 2, "decline": 3, "cancel": 4, "lapse": 5, "fault": 6}


class Customer:
    def __init__(self, number, group):
        self.email = f"cluster-{group}-{number:02d}@example.com"
        self.ip = f"10.{GROUP_NETWORKS[group]}.0.{number + 1}"
        self.group = group
        self.token = None
        self.order_id = None
        self.outcome = None  # what this customer's order is meant to end as
        self.declined = False


def register_and_login(cluster, customer):
    status, body, _, _ = cluster.request(
        "POST",
        "/api/users/register/",
        label="register",
        body={"email": customer.email, "password": PASSWORD},
        client_ip=customer.ip,
    )
    if status != 201:
        raise Violation(f"register {customer.email}: {status} {body}")
    status, body, _, _ = cluster.request(
        "POST",
        "/api/users/login/",
        label="login",
        body={"email": customer.email, "password": PASSWORD},
        client_ip=customer.ip,
    )
    if status != 200:
        raise Violation(f"login {customer.email}: {status} {body}")
    customer.token = body["access"]


def customer_create(customer):
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import AccessToken

    user = get_user_model()(email=customer.email)
    user.set_unusable_password()
    user.save()
    customer.token = str(AccessToken.for_user(user))


def login_throttle(cluster, customer):
    """LOGIN_LIMIT + 1 logins from one client address, round-robin: the last must be 429."""
    ip = "10.99.0.1"
    statuses = []
    for _ in range(LOGIN_LIMIT + 1):
        status, _, _, _ = cluster.request(
            "POST",
            "/api/users/login/",
            label="login (throttle check)",
            body={"email": customer.email, "password": PASSWORD},
            client_ip=ip,
        )
        statuses.append(status)
    return statuses


SHIPPING_METHOD = "cluster-post"
SHIPPING_ADDRESS = {
    "full_name": "Cluster Reader",
    "line1": "1 Loopback Lane",
    "city": "Albany",
    "region": "NY",
    "postal_code": "12207",
    "country": "US",
}


def place_order(cluster, customer, book_id, *, label):
    status, body, _, finished = cluster.request(
        "POST",
        "/api/orders/",
        label=label,
        body={
            "items": [{"book": book_id, "quantity": 1}],
            "shipping_address": SHIPPING_ADDRESS,
            "shipping_method": SHIPPING_METHOD,
        },
        token=customer.token,
        client_ip=customer.ip,
    )
    if status == 201:
        customer.order_id = body["id"]
    return status, finished


def pay(cluster, customer, stripe_url, card):
    """The pay page's steps without a browser; returns the confirm response's status."""
    from payments.tests.localstripe import card_payment_method

    status, payment, _, _ = cluster.request(
        "POST",
        "/api/payments/",
        label="payment start",
        body={"order": customer.order_id},
        token=customer.token,
        client_ip=customer.ip,
    )
    if status != 201:
        raise Violation(f"payment start for order {customer.order_id}: {status} {payment}")
    method = card_payment_method(
        stripe_url,
        setup_client_secret=payment["setup_intent_client_secret"],
        publishable_key=payment["publishable_key"],
        number=card,
    )
    status, body, _, _ = cluster.request(
        "POST",
        f"/api/payments/{payment['id']}/confirm/",
        label="payment confirm",
        body={"payment_method": method},
        token=customer.token,
        client_ip=customer.ip,
    )
    if card == CARD_OK and (status != 200 or body.get("next_step") != "succeeded"):
        raise Violation(f"confirm with {card} for order {customer.order_id}: {status} {body}")
    if card == CARD_DECLINED and (status != 402 or body.get("code") != "payment_failed"):
        raise Violation(f"confirm with {card} for order {customer.order_id}: {status} {body}")
    return status


def cancel(cluster, customer):
    status, body, _, finished = cluster.request(
        "POST",
        f"/api/orders/{customer.order_id}/cancel/",
        label="cancel",
        token=customer.token,
        client_ip=customer.ip,
    )
    if status != 200:
        raise Violation(f"cancel order {customer.order_id}: {status} {body}")
    return finished


class CatalogueReader(threading.Thread):
    """Anonymous reads of one book, round-robin over the instances, all along the run."""

    def __init__(self, cluster, book_id):
        super().__init__(daemon=True)
        self.cluster, self.book_id = cluster, book_id
        self.reads = []  # (started, available)
        self.lost = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                status, body, started, _ = self.cluster.request(
                    "GET", f"/api/books/{self.book_id}/", label="anonymous book read"
                )
            except OSError:  # the worker that had the connection was killed (faults phase)
                self.lost += 1
                continue
            if status == 200:
                self.reads.append((started, body["available_quantity"]))
            time.sleep(0.02)


def staleness(reads, changes, *, until):
    """The worst age of a stale read: `changes` is [(busy_from, done_at, value after)], in
    order, each client-made change known to have committed by `done_at` (its response). Reads
    that started while a change was in flight prove nothing and are skipped."""
    worst, stale_reads, checked = 0.0, 0, 0
    for started, available in reads:
        if started >= until:
            continue
        if any(busy <= started <= done for busy, done, _ in changes):
            continue
        done = [(done_at, value) for _, done_at, value in changes if done_at < started]
        if not done:
            continue
        checked += 1
        done_at, truth = done[-1]
        if available != truth:
            stale_reads += 1
            worst = max(worst, started - done_at)
    return worst, stale_reads, checked


# --- Reading the results --------------------------------------------------------------------


def emails_sent(folders):
    """(subject, to) of every message the filebased backend wrote, in every folder."""
    messages = []
    separator = b"\n" + b"-" * 79 + b"\n"
    for folder in folders:
        for path in sorted(Path(folder).glob("*.log")):
            for chunk in path.read_bytes().split(separator):
                if chunk.strip():
                    message = email.message_from_bytes(chunk)
                    messages.append((" ".join(str(message["Subject"]).split()), message["To"]))
    return messages


def access_log_5xx(paths):
    pattern = re.compile(rb'" (5\d\d) ')
    return sum(len(pattern.findall(Path(path).read_bytes())) for path in paths)


def scrape_metrics(url):
    from prometheus_client.parser import text_string_to_metric_families

    request = urllib.request.Request(
        f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def percentile(samples, rank):
    ordered = sorted(samples)
    return ordered[max(0, -(-rank * len(ordered) // 100) - 1)]


# --- Main -----------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="bookstore_cluster")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--keep", action="store_true", help="keep the database to look into")
    parser.add_argument(
        "--template", help="copy this migrated database (with no shop data) instead of an empty one"
    )
    args = parser.parse_args()
    started = time.monotonic()
    redis_server = RedisServer() if shutil.which("redis-server") else None
    redis_url = redis_server.url if redis_server else args.redis

    ports = [free_port() for _ in range(INSTANCES)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    stripe_port = free_port()
    stripe_url = f"http://127.0.0.1:{stripe_port}"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for old in LOG_DIR.glob("**/*"):
        if old.is_file():
            old.unlink()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bookstore.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"{args.postgres}/{args.database}",
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": f"cluster-{secrets.token_hex(4)}",
        "SITE_URL": urls[0],  # the webhook goes to the first instance only
        "SECURE_SSL_REDIRECT": "false",
        "NUM_PROXIES": "1",
        "WEB_CONCURRENCY": str(WORKERS_PER_INSTANCE),
        "ORDER_HOLD_SECONDS": str(HOLD_SECONDS),
        "CATALOGUE_CACHE_SECONDS": str(CACHE_SECONDS),
        # Per hour, not the default per minute: on a busy machine eleven logins (each a slow
        # password hash) can take longer than a minute, and the first would leave the window.
        "THROTTLE_LOGIN_RATE": f"{LOGIN_LIMIT}/hour",
        "THROTTLE_REGISTER_RATE": "20/hour",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_URL": "",
        "SENDGRID_API_KEY": "",
        "EMAIL_HOST": "",
        "ADMINS": "",
        "SENTRY_DSN": "",
        "METRICS_TOKEN": METRICS_TOKEN,
        "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": STRIPE_PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_url,
        "STRIPE_JS_URL": f"{stripe_url}/js.stripe.com/v3/",
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    }
    env.pop("DEBUG", None)
    os.environ.update({k: v for k, v in env.items() if k != "PATH"})

    say(f"== Fresh database {args.database}, Redis {redis_url}")
    admin_db = args.postgres + "/postgres"
    subprocess.run(
        ["psql", admin_db, "-qc", f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)"],
        check=True,
    )
    create = f"CREATE DATABASE {args.database}"
    if args.template:
        # An already migrated database (CI's production smoke test's): the release's migrate then
        # has nothing to do, which saves minutes of dj-stripe's migrations.
        create += f" TEMPLATE {args.template}"
        say(f"   (a copy of {args.template})")
    subprocess.run(["psql", admin_db, "-qc", create], check=True)

    from payments import localstripe_server

    failures = []
    with ExitStack() as stack:
        if redis_server:
            redis_server.start()
            stack.callback(redis_server.kill)
        stack.enter_context(
            localstripe_server.running(
                port=stripe_port, data_dir=LOG_DIR / "localstripe", from_scratch=True
            )
        )
        say(f"== Release: {procfile_command('release')}")
        release = subprocess.run(
            ["bash", "-c", procfile_command("release")],
            cwd=ROOT,
            env={**env, "EMAIL_FILE_PATH": str(LOG_DIR / "emails-release")},
            capture_output=True,
            text=True,
        )
        if release.returncode != 0:
            raise SystemExit(f"release failed:\n{release.stdout}\n{release.stderr}")
        match = re.search(r"Stripe webhook endpoint: (\S+)", release.stdout)
        if not match or not match.group(1).startswith(urls[0] + "/"):
            raise SystemExit(f"stripe_setup did not register instance 1: {release.stdout}")
        say(f"   webhook endpoint: {match.group(1)}")
        release_seconds = time.monotonic() - started

        import django

        django.setup()
        from django.core.cache import cache

        cache.clear()  # this run's key prefix: nothing of another run's counters

        email_folders = []
        web_logs = []
        webs = []
        for number, port in enumerate(ports, 1):
            folder = LOG_DIR / f"emails-web{number}"
            email_folders.append(folder)
            web_logs.append(LOG_DIR / f"web{number}.log")
            command = ["bash", "-c", "exec " + procfile_command("web")]
            webs.append(
                stack.enter_context(
                    process(
                        command,
                        env={**env, "PORT": str(port), "EMAIL_FILE_PATH": str(folder)},
                        log_name=f"web{number}.log",
                    )
                )
            )
        for number in range(1, CLOCKS + 1):
            folder = LOG_DIR / f"emails-clock{number}"
            email_folders.append(folder)
            command = [
                "bash",
                "-c",
                f"exec {procfile_command('clock')} --every {CLOCK_EVERY_SECONDS}",
            ]
            stack.enter_context(
                process(
                    command,
                    env={**env, "EMAIL_FILE_PATH": str(folder)},
                    log_name=f"clock{number}.log",
                )
            )
        wait_until(lambda: all(web_up(url) for url in urls), timeout=90, what="3 web instances")
        say(f"== Up: web {', '.join(urls)}; {CLOCKS} clocks; Stripe {stripe_url}")

        faults = Faults(redis_server=redis_server, webs=webs)
        failures = drive_and_check(Cluster(urls), stripe_url, email_folders, web_logs, faults)
        total = time.monotonic() - started
        say(f"   total wall time {total:.0f} s (release: {release_seconds:.0f} s)")

    if not args.keep:
        drop = ["psql", admin_db, "-qc", f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)"]
        subprocess.run(drop, check=False)
    if failures:
        say("\nFAILED:")
        for failure in failures:
            say(f"  - {failure}")
        raise SystemExit(1)
    say("\nMulti-instance proof passed.")


class Faults:
    def __init__(self, *, redis_server, webs):
        self.redis_server, self.webs = redis_server, webs


def gunicorn_workers(master_pid):
    """The worker processes of a gunicorn master (its children)."""
    path = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def faults_run(check, cluster, stripe_url, faults, *, book_id):
    """A Redis outage and a killed worker, each while customers buy: returns the customers."""
    redis_buyer, retrier = Customer(0, "fault"), Customer(1, "fault")
    for customer in (redis_buyer, retrier):
        customer_create(customer)
    if faults.redis_server is None:
        say("== Redis outage: skipped (redis-server is not installed; the shared Redis is kept)")
        status, _ = place_order(cluster, redis_buyer, book_id, label="order (fault)")
        if status != 201:
            raise Violation(f"order for {redis_buyer.email}: {status}")
    else:
        say(f"== Redis outage: redis-server killed for {REDIS_OUTAGE_SECONDS} s")
        faults.redis_server.kill()
        outage_started = time.monotonic()
        answers = []
        for instance in range(INSTANCES):
            status, _, _, _ = cluster.request(
                "GET", "/api/books/", label="read (redis down)", instance=instance
            )
            answers.append(status)
            status, _, _, _ = cluster.request(
                "GET",
                f"/api/books/{book_id}/",
                label="read (redis down)",
                instance=instance,
            )
            answers.append(status)
        status, _ = place_order(cluster, redis_buyer, book_id, label="order (redis down)")
        answers.append(status)
        answers.append(pay(cluster, redis_buyer, stripe_url, CARD_OK))
        states = [health(url) for url in cluster.urls]
        check(
            all(200 <= s < 300 for s in answers),
            f"with Redis down every request answers 2xx: {answers}",
        )
        check(
            all(
                status == 200
                and body == {"status": "degraded", "database": "ok", "cache": "degraded"}
                for status, body in states
            ),
            f"with Redis down each instance's health is 200 and degraded: {[b for _, b in states]}",
        )
        time.sleep(max(0.0, outage_started + REDIS_OUTAGE_SECONDS - time.monotonic()))
        faults.redis_server.start()
        restarted = time.monotonic()
        wait_until(
            lambda: all(
                health(url)[1] == {"status": "ok", "database": "ok", "cache": "ok"}
                for url in cluster.urls
            ),
            timeout=15,
            what="every instance's health to say ok after Redis came back",
        )
        say(f"   every instance ok {time.monotonic() - restarted:.1f} s after the restart")

    say("== Killed workers: instance 2's gunicorn workers get SIGKILL while placing an order")
    key = {"Idempotency-Key": f"cluster-kill-{secrets.token_hex(4)}"}
    order_body = {
        "items": [{"book": book_id, "quantity": 1}],
        "shipping_address": SHIPPING_ADDRESS,
        "shipping_method": SHIPPING_METHOD,
    }

    def first_attempt():
        try:
            return cluster.request(
                "POST",
                "/api/orders/",
                label="order (worker killed)",
                body=order_body,
                token=retrier.token,
                client_ip=retrier.ip,
                instance=1,
                headers=key,
            )
        except OSError:  # the worker died with the connection: the client retries
            return None

    workers = gunicorn_workers(faults.webs[1].pid)
    check(bool(workers), f"instance 2 has workers to kill: {workers}")
    with ThreadPoolExecutor(max_workers=1) as pool:
        attempt = pool.submit(first_attempt)
        time.sleep(0.1)
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        first = attempt.result()
    say(f"   first attempt: {'connection lost' if first is None else first[0]}")
    retry = cluster.request(
        "POST",
        "/api/orders/",
        label="order (retry)",
        body=order_body,
        token=retrier.token,
        client_ip=retrier.ip,
        instance=2,
        headers=key,
    )
    from orders.models import Order

    mine = Order.objects.filter(user__email=retrier.email)
    check(
        retry[0] == 201
        and (first is None or (first[0] == 201 and first[1]["id"] == retry[1]["id"]))
        and list(mine.values_list("pk", flat=True)) == [retry[1]["id"]],
        f"an order retried with its Idempotency-Key after its worker was killed: one order "
        f"({mine.count()} in the database)",
    )
    if retry[0] == 201:
        retrier.order_id = retry[1]["id"]
        pay(cluster, retrier, stripe_url, CARD_OK)
    wait_until(
        lambda: all(web_up(url) for url in cluster.urls), timeout=60, what="instance 2's workers"
    )
    for customer in (redis_buyer, retrier):
        customer.outcome = "paid"
    return [c for c in (redis_buyer, retrier) if c.order_id]


def drive_and_check(cluster, stripe_url, email_folders, web_logs, faults):
    from catalog.services import book_create

    failures = []

    def check(condition, message):
        say(f"   {'ok' if condition else 'FAIL'}: {message}")
        if not condition:
            failures.append(message)

    hot = book_create(
        authors=["Ursula K. Le Guin"],
        title="The Dispossessed",
        price="14.00",
        stock_quantity=HOT_COPIES,
        language="en",
        publication_year=1974,
    )
    from orders.models import ShippingMethod

    ShippingMethod.objects.create(
        code=SHIPPING_METHOD, name="Cluster post", price=Decimal("3.50"), min_days=1, max_days=3
    )
    plenty_stock = 100
    plenty = book_create(
        authors=["Ursula K. Le Guin"],
        title="The Left Hand of Darkness",
        price="12.50",
        stock_quantity=plenty_stock,
        language="en",
        publication_year=1969,
    )

    groups = {"storm": STORM_BUYERS, "buy": PURCHASES, "decline": DECLINES}
    groups |= {"cancel": CANCELLATIONS, "lapse": LAPSES}
    customers = [Customer(n, group) for group, count in groups.items() for n in range(count)]
    by_group = defaultdict(list)
    for customer in customers:
        by_group[customer.group].append(customer)

    # Password hashing is the production hasher's (deliberately slow): the buyers, decliners and
    # cancellers register and log in over HTTP; the storm and the lapsing customers are made in
    # the database with tokens minted with the shared signing key, which the API accepts alike.
    phase_started = time.monotonic()
    over_http = [c for c in customers if c.group in ("buy", "decline", "cancel")]
    say(f"== Registrations and logins over HTTP: {len(over_http)} customers")
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda c: register_and_login(cluster, c), over_http))
    say(f"   {time.monotonic() - phase_started:.1f} s")
    for customer in customers:
        if customer not in over_http:
            customer_create(customer)

    say(f"== Login throttle: {LOGIN_LIMIT + 1} logins from one client, round-robin")
    statuses = login_throttle(cluster, over_http[0])
    say(f"   statuses: {statuses}")
    check(
        statuses == [200] * LOGIN_LIMIT + [429],
        f"the first {LOGIN_LIMIT} logins pass and the {LOGIN_LIMIT + 1}th is 429 across instances",
    )

    reader = CatalogueReader(cluster, hot.pk)
    reader.start()
    time.sleep(1.5)  # every instance has the hot book cached
    changes = []  # (busy_from, done_at, available afterwards)

    say(f"== Storm: {STORM_BUYERS} buyers at once on a book with {HOT_COPIES} copies")
    storm_started = time.monotonic()
    with ThreadPoolExecutor(max_workers=STORM_BUYERS) as pool:
        storm = list(
            pool.map(
                lambda c: place_order(cluster, c, hot.pk, label="order (storm)"), by_group["storm"]
            )
        )
    storm_done = max(finished for _, finished in storm)
    storm_statuses = Counter(status for status, _ in storm)
    say(f"   {dict(storm_statuses)} in {storm_done - storm_started:.2f} s")
    check(
        storm_statuses == Counter({201: HOT_COPIES, 409: STORM_BUYERS - HOT_COPIES}),
        f"exactly {HOT_COPIES} orders placed, the other {STORM_BUYERS - HOT_COPIES} refused (409)",
    )
    changes.append((storm_started, storm_done, 0))
    winners = [c for c in by_group["storm"] if c.order_id]

    # The storm's winners: two pay, one is declined (and lapses), one cancels, one lapses.
    plans = ["pay", "pay", "decline", "cancel", "lapse"]
    for customer, plan in zip(winners, plans, strict=False):
        customer.outcome = {"pay": "paid", "decline": "expired", "cancel": "cancelled"}.get(
            plan, "expired"
        )
    time.sleep(CACHE_SECONDS + 0.5)
    canceller = next(c for c in winners if c.outcome == "cancelled")
    cancel_started = time.monotonic()
    cancel_done = cancel(cluster, canceller)
    changes.append((cancel_started, cancel_done, 1))
    time.sleep(CACHE_SECONDS + 0.5)

    say(
        f"== Mixed load: {PURCHASES + 2} purchases with {CARD_OK}, {DECLINES + 1} declines "
        f"({CARD_DECLINED}), {CANCELLATIONS} cancellations, {LAPSES} orders left to lapse"
    )

    def customer_run(customer):
        if customer.group == "storm":
            if customer.outcome == "paid":
                pay(cluster, customer, stripe_url, CARD_OK)
            elif customer.outcome == "expired" and customer is winners[2]:
                customer.declined = True
                pay(cluster, customer, stripe_url, CARD_DECLINED)
            return
        status, _ = place_order(cluster, customer, plenty.pk, label="order")
        if status != 201:
            raise Violation(f"order for {customer.email}: {status}")
        if customer.group == "buy":
            customer.outcome = "paid"
            pay(cluster, customer, stripe_url, CARD_OK)
        elif customer.group == "decline":
            customer.outcome = "expired"
            customer.declined = True
            pay(cluster, customer, stripe_url, CARD_DECLINED)
        elif customer.group == "cancel":
            customer.outcome = "cancelled"
            cancel(cluster, customer)
        else:
            customer.outcome = "expired"

    mixed_started = time.monotonic()
    involved = winners + [c for c in customers if c.group != "storm"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(customer_run, involved))
    mixed_seconds = time.monotonic() - mixed_started

    involved += faults_run(check, cluster, stripe_url, faults, book_id=plenty.pk)

    from orders.models import Order, OrderEvent, OrderStatus

    ours = {c.order_id: c for c in involved}
    expect = Counter(c.outcome for c in involved)
    paid_ids = [i for i, c in ours.items() if c.outcome == "paid"]
    wait_until(
        lambda: (
            Order.objects.filter(pk__in=paid_ids, status=OrderStatus.PAID).count() == len(paid_ids)
        ),
        timeout=60,
        what="the webhooks to mark every purchase paid",
    )
    to_paid_seconds = time.monotonic() - mixed_started
    say(f"   {len(involved)} customers done in {mixed_seconds:.1f} s")
    say(f"   every purchase paid {to_paid_seconds:.1f} s after the load started")
    # The hot book's availability stays 1 until its lapsed orders expire: stop reading first.
    # (reads after the hold of the storm's orders could lapse are not judged)
    time.sleep(max(0.0, storm_started + HOLD_SECONDS - time.monotonic()))
    reader.stop.set()
    reader.join()
    if reader.lost:
        say(f"   {reader.lost} anonymous read(s) lost with the killed worker's connection")

    say(f"== Waiting for the clocks to expire lapsed orders (hold {HOLD_SECONDS} s) and send email")
    lapse_ids = [i for i, c in ours.items() if c.outcome == "expired"]
    wait_until(
        lambda: not Order.objects.filter(pk__in=list(ours), status=OrderStatus.PENDING).exists(),
        timeout=HOLD_SECONDS + 60,
        what="every lapsed order to expire",
    )
    from core.models import OutboxEmail

    wait_until(
        lambda: not OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING).exists(),
        timeout=60,
        what="the outbox to drain",
    )
    time.sleep(CLOCK_EVERY_SECONDS * 2)  # a clock that would send twice has had its chance
    return failures + results(
        check,
        cluster=cluster,
        hot=hot,
        plenty=plenty,
        plenty_stock=plenty_stock,
        ours=ours,
        expect=expect,
        lapse_ids=lapse_ids,
        reader=reader,
        changes=changes,
        email_folders=email_folders,
        web_logs=web_logs,
        figures={
            "mixed_seconds": mixed_seconds,
            "to_paid_seconds": to_paid_seconds,
            "hold_end": storm_started + HOLD_SECONDS,
        },
        Order=Order,
        OrderEvent=OrderEvent,
        OrderStatus=OrderStatus,
        OutboxEmail=OutboxEmail,
    )


def results(
    check,
    *,
    cluster,
    hot,
    plenty,
    plenty_stock,
    ours,
    expect,
    lapse_ids,
    reader,
    changes,
    email_folders,
    web_logs,
    figures,
    Order,
    OrderEvent,
    OrderStatus,
    OutboxEmail,
):
    from django.db.models import Q, Sum
    from djstripe.models import WebhookEventTrigger

    from catalog.models import Book

    say("== Checks")
    orders = Order.objects.filter(pk__in=list(ours))
    statuses = Counter(orders.values_list("status", flat=True))
    check(
        statuses == expect,
        f"orders ended as planned: {dict(sorted(statuses.items()))} "
        f"(planned {dict(sorted(expect.items()))})",
    )

    # Stock: on hand went down by the copies paid for, exactly once; nothing left reserved but
    # what pending orders hold (none by now).
    for book, initial in ((hot, HOT_COPIES), (plenty, plenty_stock)):
        book = Book.objects.get(pk=book.pk)
        held = (
            Order.objects.filter(status=OrderStatus.PENDING, items__book=book).aggregate(
                n=Sum("items__quantity", filter=Q(items__book=book))
            )["n"]
            or 0
        )
        sold = (
            Order.objects.filter(status=OrderStatus.PAID, items__book=book).aggregate(
                n=Sum("items__quantity", filter=Q(items__book=book))
            )["n"]
            or 0
        )
        check(
            book.stock_quantity == initial - sold
            and book.reserved_quantity == held
            and 0 <= book.reserved_quantity <= book.stock_quantity,
            f"{book.title}: on hand {book.stock_quantity} = {initial} - {sold} paid, "
            f"reserved {book.reserved_quantity} = {held} pending: no oversell",
        )
    check(
        Order.objects.filter(status=OrderStatus.PAID, items__book=hot).count() <= HOT_COPIES,
        "never more paid orders than copies of the hot book",
    )

    events = Counter(
        OrderEvent.objects.filter(order__in=orders).values_list("order_id", "to_status")
    )
    paid_ids = [i for i, c in ours.items() if c.outcome == "paid"]
    check(
        all(events[(i, "paid")] == 1 for i in paid_ids),
        f"each of the {len(paid_ids)} paid orders was marked paid (its stock committed) once",
    )
    check(
        all(events[(i, "expired")] == 1 for i in lapse_ids)
        and sum(n for (_, s), n in events.items() if s == "expired") == len(lapse_ids),
        f"each of the {len(lapse_ids)} lapsed orders expired once",
    )

    # Webhooks: every request dj-stripe received was valid and processed, once per event.
    triggers = WebhookEventTrigger.objects.all()
    per_event = Counter(triggers.exclude(event=None).values_list("event_id", flat=True))
    bad = triggers.filter(Q(valid=False) | Q(processed=False) | ~Q(exception=""))
    check(
        triggers.exists()
        and not bad.exists()
        and set(per_event.values()) == {1}
        and triggers.filter(event=None).count() == 0,
        f"{triggers.count()} webhooks, every one valid and applied once "
        f"({len(per_event)} distinct events, {bad.count()} failed)",
    )

    # Emails: what the filebased backend of every process wrote.
    messages = emails_sent(email_folders)
    subjects = Counter(subject for subject, _ in messages)
    outbox = OutboxEmail.objects.all()
    sent = outbox.filter(status=OutboxEmail.Status.SENT)
    check(
        len(messages) == sent.count()
        and not outbox.exclude(status="sent").exists()
        and not sent.filter(attempts__gt=1).exists(),
        f"{len(messages)} emails written by {CLOCKS} clocks = {sent.count()} outbox rows sent, "
        "each in one attempt",
    )
    # From the commit that wrote an email to its handing to the mail backend, with the clocks
    # sending at the production pace (EMAIL_SEND_EVERY_SECONDS; --every never slows a job).
    delays = sorted(
        (sent_at - created_at).total_seconds()
        for created_at, sent_at in sent.values_list("created_at", "sent_at")
    )
    email_p95 = percentile(delays, 95) if delays else float("inf")
    check(
        email_p95 <= EMAIL_P95_SECONDS,
        f"emails reach the mail backend {email_p95:.1f} s after their commit "
        f"(p95 of {len(delays)}, at most {EMAIL_P95_SECONDS} s)",
    )
    numbers = dict(orders.values_list("pk", "number"))
    receipts = [subjects[f"Receipt for order {numbers[i]}"] for i in paid_ids]
    check(receipts and set(receipts) == {1}, f"one receipt per paid order ({len(receipts)})")
    declined = [i for i, c in ours.items() if c.declined]
    failure_mails = [
        subjects[f"Payment for order {numbers[i]} did not go through"] for i in declined
    ]
    check(
        len(failure_mails) == DECLINES + 1 and set(failure_mails) == {1},
        f"one failure email per failed payment ({len(failure_mails)})",
    )
    expiry_mails = [subjects[f"Order {numbers[i]} expired"] for i in lapse_ids]
    check(set(expiry_mails) == {1}, f"one expiry email per lapsed order ({len(expiry_mails)})")
    # The same subject to the same address twice is a duplicate (account emails share a subject).
    duplicates = {m: n for m, n in Counter(messages).items() if n > 1}
    check(not duplicates, f"no email sent twice {duplicates or ''}".strip())

    worst, stale_reads, checked = staleness(reader.reads, changes, until=figures["hold_end"])
    check(
        worst <= CACHE_SECONDS,
        f"anonymous reads of the hot book: {checked} checked on {INSTANCES} instances, "
        f"{stale_reads} stale, the stalest {worst:.2f} s after the change "
        f"(CATALOGUE_CACHE_SECONDS={CACHE_SECONDS})",
    )

    # /metrics of every instance: each sums its 2 workers; the shop figures agree everywhere.
    scraped = [scrape_metrics(url) for url in cluster.urls]
    ours_per_instance = Counter(instance for _, instance, _, _ in cluster.responses)
    counted = [
        sum(
            value
            for (name, labels), value in figures.items()
            if name == "bookstore_http_requests_total" and dict(labels)["view"] not in NOT_OURS
        )
        for figures in scraped
    ]
    check(
        counted == [ours_per_instance[i] for i in range(len(cluster.urls))],
        f"/metrics of each instance counts every request it answered, both workers summed: "
        f"{[int(n) for n in counted]}",
    )
    applied = scraped[0].get(("bookstore_stripe_webhooks_total", (("outcome", "applied"),)), 0)
    check(
        applied == triggers.count(),
        f"instance 1's /metrics counts {int(applied)} webhooks applied = {triggers.count()} "
        "in dj-stripe's log",
    )
    placed = {f.get(("bookstore_orders_total", (("event", "placed"),))) for f in scraped}
    check(
        placed == {Order.objects.count()},
        f"every instance reports the same orders placed from the database: {placed}",
    )
    delays = (
        scraped[0].get(("bookstore_stripe_webhook_delay_seconds_sum", ())),
        scraped[0].get(("bookstore_stripe_webhook_delay_seconds_count", ())),
    )

    server_errors = [r for r in cluster.responses if r[2] >= 500]
    logged = access_log_5xx(web_logs)
    check(
        not server_errors and logged == 0,
        f"no 5xx: {len(cluster.responses)} client requests, access logs of {INSTANCES} instances",
    )

    say("== Figures")
    per_instance = Counter(instance for _, instance, _, _ in cluster.responses)
    say(f"   requests per instance: {dict(sorted((i + 1, n) for i, n in per_instance.items()))}")
    webhook_lines = [
        line for line in web_logs[0].read_text(errors="replace").splitlines() if "/webhook" in line
    ]
    say(f"   webhook requests received by instance 1: {len(webhook_lines)}")
    if delays[1]:
        say(f"   mean delay from Stripe's event to applied: {delays[0] / delays[1]:.2f} s")
    by_label = defaultdict(list)
    for label, _, _, seconds in cluster.responses:
        by_label[label].append(seconds * 1000)
    say(f"   {'request':<24} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, samples in sorted(by_label.items()):
        say(
            f"   {label:<24} {len(samples):>5} {statistics.median(samples):>8.0f} "
            f"{percentile(samples, 99):>8.0f} {max(samples):>8.0f}"
        )
    say(
        f"   mixed load: {figures['mixed_seconds']:.1f} s for {len(ours)} customers; every "
        f"purchase paid (webhook applied) {figures['to_paid_seconds']:.1f} s after it started"
    )
    return []


if __name__ == "__main__":
    try:
        main()
    except Violation as violation:
        raise SystemExit(f"FAILED: {violation}") from None
