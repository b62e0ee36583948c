"""How the apps may lean on each other: no app imports another app's views or admin, orders
never imports payments (payments builds on orders), and the shared core app imports no app.
The project package composes the apps: its URLs import them, and the admin dashboard and the
metrics read their selectors; no other module of it imports an app."""

import ast
import re
from pathlib import Path

import pytest
from django.contrib import admin

ROOT = Path(__file__).resolve().parents[2]
APPS = ["accounts", "catalog", "core", "orders", "payments"]
FIRST_PARTY = [*APPS, "bookstore"]
PRIVATE_MODULES = {"views", "admin"}


def _runtime_imports(tree):
    """Imported module names, leaving out `if TYPE_CHECKING:` blocks."""
    nodes = list(ast.iter_child_nodes(tree))
    while nodes:
        node = nodes.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            nodes.extend(node.orelse)
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        nodes.extend(ast.iter_child_nodes(node))


def import_graph():
    """{app: {imported first-party module (two levels, like "orders.models")}}, application
    code only (tests and migrations aside)."""
    graph = {}
    for app in FIRST_PARTY:
        imported = set()
        for path in (ROOT / app).rglob("*.py"):
            if {"tests", "migrations"} & set(path.relative_to(ROOT).parts):
                continue
            for name in _runtime_imports(ast.parse(path.read_text(), str(path))):
                parts = name.split(".")
                if parts[0] in FIRST_PARTY and parts[0] != app and len(parts) > 1:
                    module = ".".join(parts[:2])
                    if (ROOT / parts[0] / f"{parts[1]}.py").exists() or (
                        ROOT / parts[0] / parts[1]
                    ).is_dir():
                        imported.add(module)
        graph[app] = imported
    return graph


GRAPH = import_graph()


@pytest.mark.parametrize("app", APPS)
def test_no_app_imports_another_apps_views_or_admin(app):
    assert {module for module in GRAPH[app] if module.split(".")[1] in PRIVATE_MODULES} == set()


def test_orders_never_imports_payments():
    assert {module for module in GRAPH["orders"] if module.startswith("payments.")} == set()


def test_core_imports_no_app():
    assert {module for module in GRAPH["core"] if module.split(".")[0] in APPS} == set()


def test_the_order_page_gets_the_payments_panel_without_re_registering_the_order_admin():
    from orders.admin import OrderAdmin
    from orders.models import Order
    from payments.admin import OrderPaymentInline

    order_admin = admin.site._registry[Order]
    assert type(order_admin) is OrderAdmin
    assert OrderPaymentInline in order_admin.inlines
    action_names = [order_admin.get_action(action)[1] for action in order_admin.actions]
    assert action_names == [
        "action_order_ship",
        "action_order_deliver",
        "action_order_cancel",
        "action_order_refund",
    ]


# Modules of the project package that compose the apps: None = any module, else only this one.
COMPOSERS = {"urls.py": None, "dashboard.py": "selectors", "metrics.py": "selectors"}


def test_the_project_package_imports_apps_only_where_it_composes_them():
    offenders = []
    for path in (ROOT / "bookstore").rglob("*.py"):
        relative = path.relative_to(ROOT / "bookstore")
        if relative.parts[0] in ("tests", "settings"):
            continue
        allowed = COMPOSERS.get(str(relative), "none")
        for name in _runtime_imports(ast.parse(path.read_text(), str(path))):
            parts = name.split(".")
            if parts[0] not in APPS or len(parts) < 2 or allowed is None:
                continue
            if parts[1] != allowed:
                offenders.append(f"{relative}: {name}")
    assert offenders == []


# --- Inside an app, and what the type checker alone sees -----------------------------------


def _source_files(app):
    """An app's application modules (tests and migrations aside): {path: dotted module}."""
    files = {}
    for path in sorted((ROOT / app).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if {"tests", "migrations"} & set(parts):
            continue
        files[path] = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    return files


def _imported_modules(path, module):
    """Every module `path` (the module `module`) imports, relative imports resolved, imports
    inside functions and `if TYPE_CHECKING:` blocks included: a circle is one in any of them."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _app_module_graph(app):
    """{module: {modules of the same app it imports}}, a package's modules counted as the
    package (its own circles are its business): `catalog.search.queries` is `catalog.search`."""
    files = _source_files(app)
    packages = {module for path, module in files.items() if path.name == "__init__.py"}

    def node(module):
        parts = module.split(".")
        # The outermost package below the app, else the module itself.
        for length in range(2, len(parts)):
            if ".".join(parts[:length]) in packages:
                return ".".join(parts[:length])
        return module

    known = set(files.values())
    graph = {}
    for path, module in files.items():
        source = node(module)
        targets = graph.setdefault(source, set())
        for name in _imported_modules(path, module):
            # `from . import caching` names the app's package too, which only holds them.
            if name in known and name != app and node(name) != source:
                targets.add(node(name))
    return graph


def _circles(graph):
    """The import circles of `graph`, each as the modules around it."""
    found, done = [], set()

    def visit(module, trail):
        if module in trail:
            found.append([*trail[trail.index(module) :], module])
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, [*trail, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return found


def test_the_catalogs_read_path_flows_one_way():
    """View → selectors → search → rows: search never reaches back into selectors, and no
    other circle joins the catalogue's modules."""
    graph = _app_module_graph("catalog")
    assert "catalog.search" in graph["catalog.selectors"]
    assert _circles(graph) == []


def test_a_circle_between_modules_is_caught():
    graph = {
        "catalog.selectors": {"catalog.search"},
        "catalog.search": {"catalog.rows", "catalog.selectors"},
    }
    assert _circles(graph) == [["catalog.search", "catalog.selectors", "catalog.search"]]


@pytest.mark.parametrize("app", APPS)
def test_reading_does_not_depend_on_presentation(app):
    """Selectors (and the catalogue's search and rows, which they read through) never import
    serializers or views, at run time or for the type checker."""
    readers = {f"{app}.selectors", "catalog.search", "catalog.rows"}
    offenders = [
        f"{module}: {name}"
        for path, module in _source_files(app).items()
        if any(module == reader or module.startswith(f"{reader}.") for reader in readers)
        for name in _imported_modules(path, module)
        if name.split(".")[0] in FIRST_PARTY and {"serializers", "views"} & set(name.split(".")[1:])
    ]
    assert offenders == []


_TESTS_PATH = re.compile(r"(^|[/\\.])tests([/\\.]|$)")


def test_application_code_reads_nothing_under_tests():
    """No module outside the tests opens a file under a tests/ folder or imports from one:
    what production needs (a data file, a factory) lives with the production code."""
    offenders = []
    for app in FIRST_PARTY:
        for path, module in _source_files(app).items():
            if path.is_relative_to(ROOT / "bookstore" / "settings"):
                continue
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and _TESTS_PATH.search(node.value)
                    and " " not in node.value
                ):
                    offenders.append(f"{module}: {node.value!r}")
            offenders += [
                f"{module}: import {name}"
                for name in _imported_modules(path, module)
                if _TESTS_PATH.search(name)
            ]
    assert offenders == []


def _type_checking_imports(tree):
    """Imported module names inside `if TYPE_CHECKING:` blocks only."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for child in node.body:
                yield from _runtime_imports(ast.Module(body=[child], type_ignores=[]))


# Crossings made for the type checker only that moving the shared kernel into core removes
# (issue 26, item 4): known, and no new one may join them.
KNOWN_TYPE_CHECKING_CROSSINGS = {"core: orders.models"}


def test_type_checking_imports_keep_the_layers():
    """An import made only for the type checker is still a dependency: the rules above hold
    for those too."""
    crossings = set()
    for app in APPS:
        for path in _source_files(app):
            for name in _type_checking_imports(ast.parse(path.read_text(), str(path))):
                parts = name.split(".")
                if parts[0] not in FIRST_PARTY or parts[0] == app or len(parts) < 2:
                    continue
                module = ".".join(parts[:2])
                if (
                    parts[1] in PRIVATE_MODULES
                    or (app == "core" and parts[0] in APPS)
                    or (app == "orders" and parts[0] == "payments")
                ):
                    crossings.add(f"{app}: {module}")
    assert crossings - KNOWN_TYPE_CHECKING_CROSSINGS == set()
