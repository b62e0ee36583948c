"""The project package is the ground floor: it imports no app, except where it composes them
(the URLconf, and the admin dashboard and metrics, which read the apps' selectors only)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
APPS = {"accounts", "catalog", "orders", "payments"}
COMPOSERS = {"urls.py": None, "dashboard.py": "selectors", "metrics.py": "selectors"}


def app_imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top = node.module.split(".")[0]
            if top in APPS:
                if node.module == top:  # from orders import selectors
                    yield from (f"{top}.{alias.name}" for alias in node.names)
                else:
                    yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] in APPS)


def test_the_project_package_imports_apps_only_where_it_composes_them():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("tests", "settings"):
            continue
        for module in app_imports(path):
            allowed = COMPOSERS.get(str(relative), "none")
            if allowed is None or (allowed != "none" and module.endswith(f".{allowed}")):
                continue
            offenders.append(f"{relative}: {module}")
    assert offenders == []
