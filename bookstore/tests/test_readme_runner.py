"""The README runner's reading of the README (.ci/readme_run.py; CI runs it end to end)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("readme_run", ROOT / ".ci" / "readme_run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SAMPLE = """Intro.

<!-- readme-runner: skip -->

```sh
make run
```

```sh
A=$(curl -fsS $B/api/books/ | python3 -c 'print(1)')
curl -sS -X POST $B/api/orders/1/cancel/ -H "$AUTH"   # expect 409
```

```json
{"not": "shell"}
```

```bash
curl -s $B/api/orders/ \\
     -H "$AUTH"
```
"""


def test_blocks_are_read_in_order_with_their_skip_marker(runner, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(SAMPLE)
    blocks = runner.readme_blocks(readme)
    assert [(block.line, block.skipped) for block in blocks] == [(5, True), (9, False), (18, False)]
    assert blocks[0].text == "make run"


def test_a_curl_that_would_not_fail_on_an_error_is_refused_unless_announced(runner, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(SAMPLE)
    _, announced, lenient = runner.readme_blocks(readme)
    assert runner.unannounced_lenient_curls(announced) == []
    assert runner.unannounced_lenient_curls(lenient) == [
        "README line 19: curl -s $B/api/orders/ \\"
    ]


def test_an_announced_failure_is_checked_for_its_status(runner):
    script = runner.announced_failures_checked('curl -sS -X POST "$B/x"   # expect 409')
    assert "-w '%{http_code}'" in script
    assert '[ "$STATUS" = 409 ]' in script


def test_every_readme_block_that_runs_fails_on_http_errors(runner):
    blocks = [block for block in runner.readme_blocks(ROOT / "README.md") if not block.skipped]
    assert blocks, "the README has shell examples that CI runs"
    assert [p for block in blocks for p in runner.unannounced_lenient_curls(block)] == []
