"""Production smoke test: the Procfile's release and web commands, with production settings,
against PostgreSQL, checked over real HTTP. Exits non-zero on the first failed check.

    python .ci/smoke_production.py [postgres://postgres@127.0.0.1:5432]
"""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = sys.argv[1] if len(sys.argv) > 1 else "postgres://postgres@127.0.0.1:5432"
DATABASE = "bookstore_smoke"


def procfile_command(name):
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"Procfile has no {name} process")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def step(title):
    print(f"-- {title}", flush=True)


def fetch(url, *, https=True):
    headers = {"X-Forwarded-Proto": "https"} if https else {}
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def check(condition, message):
    if not condition:
        raise SystemExit(f"FAILED: {message}")
    print(f"   ok: {message}")


def main():
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bookstore.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_urlsafe(24),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "SITE_URL": base,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
    }
    for variable in ("DEBUG", "STRIPE_SECRET_KEY", "STRIPE_API_BASE", "REDIS_URL"):
        env.pop(variable, None)
    # The Procfile says `python` and `gunicorn`: the ones of this virtualenv.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")

    step(f"fresh database {DATABASE}")
    subprocess.run(
        ["psql", SERVER + "/postgres", "-qc", f"DROP DATABASE IF EXISTS {DATABASE}"], check=True
    )
    subprocess.run(["psql", SERVER + "/postgres", "-qc", f"CREATE DATABASE {DATABASE}"], check=True)

    step("build: collectstatic")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    step("deploy check: manage.py check --deploy --fail-level WARNING")
    # A production shop shares its throttle counters through Redis (bookstore.W002 otherwise);
    # the check only reads the setting, it does not connect.
    subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, "REDIS_URL": "redis://127.0.0.1:6379/0"},
        check=True,
    )
    step(f"release: {procfile_command('release')}")
    subprocess.run(["bash", "-c", procfile_command("release")], cwd=ROOT, env=env, check=True)

    step(f"web: {procfile_command('web')}")
    web = subprocess.Popen(["bash", "-c", "exec " + procfile_command("web")], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if fetch(f"{base}/api/health/")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or web.poll() is not None:
                raise SystemExit("FAILED: gunicorn did not come up")
            time.sleep(0.3)

        status, headers, body = fetch(f"{base}/api/health/")
        check(
            status == 200 and json.loads(body) == {"status": "ok", "database": "ok", "cache": "ok"},
            "health 200",
        )
        check(bool(headers.get("X-Request-ID")), "responses carry a request id")

        status, headers, body = fetch(f"{base}/api/books/")
        check(status == 200 and "results" in json.loads(body), "book list 200 with JSON")

        status, headers, body = fetch(f"{base}/admin/login/")
        check(status == 200, "admin login page 200")
        css = re.findall(rb'href="(/static/[^"]+\.css)"', body)
        check(css and all(b"." in path for path in css), "admin CSS has hashed names")
        status, headers, _ = fetch(base + css[0].decode())
        check(
            status == 200 and headers.get("Content-Type", "").startswith("text/css"),
            "CSS served by whitenoise",
        )

        status, headers, body = fetch(f"{base}/no/such/page/")
        problem = json.loads(body)
        check(
            status == 404 and headers.get("Content-Type") == "application/problem+json",
            "unknown URL is a problem 404",
        )
        check(problem["code"] == "not_found" and b"Traceback" not in body, "no traceback in errors")

        status, _, body = fetch(f"{base}/api/docs/")
        check(status == 200, "API docs 200")
        bundle = re.search(rb'src="(/static/[^"]*swagger-ui-bundle[^"]*\.js)"', body)
        check(
            bundle and fetch(base + bundle.group(1).decode())[0] == 200,
            "Swagger UI assets served locally",
        )

        status, headers, _ = fetch(f"{base}/api/books/", https=False)
        check(
            status == 301 and headers.get("Location", "").startswith("https://"),
            "plain HTTP redirects to HTTPS",
        )
        status, headers, _ = fetch(f"{base}/api/books/")
        check("max-age=" in headers.get("Strict-Transport-Security", ""), "HSTS header")
    finally:
        web.terminate()
        web.wait(timeout=30)
    print("Production smoke test passed.")


if __name__ == "__main__":
    main()
