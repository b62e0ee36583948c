"""Run the README's shell examples, in order, against a live demo shop, as a reader would.

    python .ci/readme_run.py [--demo-db PATH] [README.md]

It starts the shop as `make run` does (migrations, the search index, the demo data, the local
Stripe server, `stripe_setup`, the development server) in a temporary directory of its own (its
own SQLite database, Stripe data and emails, free ports), so the developer's database is never
touched. Then it runs every ```sh and ```bash block of the README in one bash session, in the
order they appear, with `set -euo pipefail`: the first command that fails stops the run, and the
script exits non-zero. Variables set by one block are there for the next, as in a reader's
terminal.

Marking the README:

- `<!-- readme-runner: skip -->` on the line just before a block (blank lines between are
  allowed): the block is not run. For blocks that start or deploy the shop, need another
  service, or need something only a person has (a link from an email).
- Every `curl` in a block that runs must fail on an HTTP error (`curl -fsS`), so that a non-2xx
  answer stops the run. A call that the text announces will fail says so on its line with a
  comment `# expect <status>` (for example `# expect 409`); such a call may leave out `-f`, and
  the runner then checks that its last line printed that status (`-w '%{http_code}'`).

Working on the README: `--demo-db PATH` keeps a copy of the freshly built demo database at
PATH and, when PATH exists, starts from a copy of it instead of building one (migrations and
the demo data take most of the run's time). CI never passes it.

The README's shop address, `http://127.0.0.1:8000`, is replaced by the address of the shop
started here, and `LOCAL_STRIPE_URL` (which the README's paying steps read) is exported as the
address of the local Stripe server started here.
"""

import argparse
import os
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(Path(sys.executable))
SKIP_MARKER = "<!-- readme-runner: skip -->"
README_SHOP = "http://127.0.0.1:8000"
FENCE = re.compile(r"^```(sh|bash)\s*$")
EXPECT = re.compile(r"#\s*expect\s+(\d{3})\b")
CURL_FAILS_ON_ERROR = re.compile(r"(^|\s)(-[a-zA-Z]*f[a-zA-Z]*|--fail|--fail-with-body)(\s|$)")


class Block:
    def __init__(self, *, line, text, skipped):
        self.line, self.text, self.skipped = line, text, skipped


def readme_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        if not FENCE.match(lines[index]):
            index += 1
            continue
        previous = index - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        skipped = previous >= 0 and lines[previous].strip() == SKIP_MARKER
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        blocks.append(
            Block(line=index + 1, text="\n".join(lines[index + 1 : end]), skipped=skipped)
        )
        index = end + 1
    return blocks


def commands(text: str) -> list[tuple[int, str]]:
    """Each command of a block with its first line number (backslash continuations joined)."""
    result, current, start = [], [], 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not current:
            start = number
        current.append(line)
        if not line.rstrip().endswith("\\"):
            result.append((start, "\n".join(current)))
            current = []
    if current:
        result.append((start, "\n".join(current)))
    return result


def unannounced_lenient_curls(block: Block) -> list[str]:
    """Calls that would print an error answer and carry on: curl without -f and no `# expect`."""
    problems = []
    for number, command in commands(block.text):
        for call in re.split(r"\$\(|\|", command):
            call = call.strip()
            if not call.startswith("curl ") and " curl " not in f" {call} ":
                continue
            options = call[call.index("curl") :].split("#")[0]
            if not CURL_FAILS_ON_ERROR.search(options) and not EXPECT.search(command):
                problems.append(f"README line {block.line + number}: {command.splitlines()[0]}")
    return problems


def announced_failures_checked(text: str) -> str:
    """A call marked `# expect NNN` prints its status on a line of its own, then is checked."""
    checked = []
    for _, command in commands(text):
        expected = EXPECT.search(command)
        if expected:
            status = expected.group(1)
            body = command[: expected.start()].rstrip()
            checked.append(
                f"STATUS=$({body} -o /dev/stderr -w '%{{http_code}}')\n"
                f'[ "$STATUS" = {status} ] || {{ echo "expected {status}, got $STATUS" >&2; '
                "exit 1; }"
            )
        else:
            checked.append(command)
    return "\n".join(checked)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, *, seconds: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"FAILED: the server for {url} exited ({process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):  # nosec B310: our own local URL
                return
        except urllib.error.HTTPError:
            return  # it answers (an error status is an answer)
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"FAILED: {url} did not answer within {seconds:.0f} s")


def manage(*args: str, env: dict[str, str]) -> None:
    print(f"-- manage.py {' '.join(args)}", flush=True)
    started = time.monotonic()
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)  # nosec B603
    print(f"   ({time.monotonic() - started:.0f} s)", flush=True)


def sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of an SQLite database (the backup API, not a file copy)."""
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readme", nargs="?", type=Path, default=ROOT / "README.md")
    parser.add_argument("--demo-db", type=Path, help="keep (or start from) this demo database")
    arguments = parser.parse_args()
    readme, demo_db = arguments.readme, arguments.demo_db
    blocks = readme_blocks(readme)
    to_run = [block for block in blocks if not block.skipped]
    lenient = [problem for block in to_run for problem in unannounced_lenient_curls(block)]
    if lenient:
        print("FAILED: curl calls that would not fail on an HTTP error (use curl -fsS, or")
        print("announce the failure with `# expect <status>`):")
        print("\n".join(f"   {problem}" for problem in lenient))
        return 1
    print(f"== {len(to_run)} of {len(blocks)} shell blocks of {readme.name} to run", flush=True)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="readme-run-") as temp:
        work = Path(temp)
        shop_port, stripe_port = free_port(), free_port()
        shop = f"http://127.0.0.1:{shop_port}"
        stripe = f"http://127.0.0.1:{stripe_port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bookstore.settings.dev",
            "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
            "LOCAL_STRIPE_URL": stripe,
            "SITE_URL": shop,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(work / "emails"),
            "PATH": str(Path(PYTHON).parent) + os.pathsep + os.environ.get("PATH", ""),
        }
        for variable in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "REDIS_URL", "CACHE_URL"):
            env.pop(variable, None)
        # As `make run`: migrate, index, demo data; then the Stripe server, stripe_setup, serve.
        if demo_db and demo_db.exists():
            print(f"-- the demo database copied from {demo_db}", flush=True)
            sqlite_copy(demo_db, work / "db.sqlite3")
        else:
            manage("migrate", "--noinput", "-v", "0", env=env)
            manage("search_reindex", "--missing", env=env)
            manage("seed_demo", env=env)
            if demo_db:
                sqlite_copy(work / "db.sqlite3", demo_db)
        processes, status = [], 1
        try:
            stripe_server = subprocess.Popen(  # nosec B603
                [PYTHON, "-m", "payments.localstripe_server", "--port", str(stripe_port)]
                + ["--data-dir", str(work / "localstripe"), "--from-scratch"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(stripe_server)
            wait_for(f"{stripe}/v1/customers", seconds=30, process=stripe_server)
            manage("stripe_setup", env=env)
            shop_server = subprocess.Popen(  # nosec B603
                [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{shop_port}"],
                cwd=ROOT,
                env=env,
                stdout=open(work / "shop.log", "w"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
            processes.append(shop_server)
            wait_for(f"{shop}/api/health/", seconds=60, process=shop_server)
            print(f"== Shop up at {shop} after {time.monotonic() - started:.0f} s", flush=True)
            status = run_blocks(to_run, shop=shop, env=env, cwd=work)
            if status:
                print("-- the shop's log, last lines:")
                print("\n".join((work / "shop.log").read_text().splitlines()[-40:]))
        finally:
            for process in reversed(processes):
                process.terminate()
                process.wait(timeout=10)
    outcome = "FAILED" if status else "ok"
    print(f"== README walk-throughs: {outcome} in {time.monotonic() - started:.0f} s")
    return status


def run_blocks(blocks: list[Block], *, shop: str, env: dict[str, str], cwd: Path) -> int:
    script = [
        "set -euo pipefail",
        # Where a command failed: the block's first line in the README.
        "trap 'echo \"FAILED: README block at line $README_LINE, command: $BASH_COMMAND\" >&2' ERR",
    ]
    for block in blocks:
        script.append(f"README_LINE={block.line}")
        # A blank line first: the answers curl prints end without one.
        script.append(f"echo; echo {shlex.quote(f'-- README line {block.line}')}")
        script.append(announced_failures_checked(block.text.replace(README_SHOP, shop)))
    result = subprocess.run(  # nosec B603 B607: bash runs the README's own commands
        ["bash", "-c", "\n".join(script)], cwd=cwd, env=env, timeout=600
    )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
