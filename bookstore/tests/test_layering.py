"""How the packages may lean on each other. Layers, lowest first: `core` (the shared kernel:
errors, permissions, pagination, renderers, parsers, routers, the schema hooks, the outbox,
Idempotency-Key, money), then the apps `accounts`, `catalog`, `orders`, `payments`, then
`bookstore` (the composition root: settings, urls, the dashboard, metrics, the job runner). A
package imports only those below it, at run time, inside functions, for the type checker alone,
or as a string foreign key; the one pair the design card asks for is the catalog listening to
`orders.signals` (stock follows orders). No app imports another app's views or admin, and the
project package imports an app only where it composes the apps."""

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
        "action_order_clear_dispute",
        "action_order_refund",
    ]


# Modules of the project package that compose the apps: None = any module, else only this one.
COMPOSERS = {"urls.py": None, "dashboard.py": "selectors", "metrics.py": "selectors"}


def test_the_project_package_imports_apps_only_where_it_composes_them():
    offenders = []
    for path in (ROOT / "bookstore").rglob("*.py"):
        relative = path.relative_to(ROOT / "bookstore")
        if relative.parts[0] in ("tests", "settings", "management"):
            continue
        allowed = COMPOSERS.get(str(relative), "none")
        for name in _runtime_imports(ast.parse(path.read_text(), str(path))):
            parts = name.split(".")
            if parts[0] not in APPS or parts[0] == "core" or len(parts) < 2 or allowed is None:
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


# --- Layers: every import and every string foreign key points down ----------------------------

LAYERS = {"core": 0, "accounts": 1, "catalog": 2, "orders": 3, "payments": 4, "bookstore": 5}
# The design card's stock signals: the catalog (lower) listens to what orders announce.
ALLOWED_UPWARD = {("catalog", "orders.signals")}
_STRING_MODEL = re.compile(r"^([a-z_]+)\.([A-Z][A-Za-z]*)$")


def _string_foreign_keys(tree):
    """ "app.Model" targets of ForeignKey, OneToOneField and ManyToManyField."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", ""))
            in {"ForeignKey", "OneToOneField", "ManyToManyField"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and _STRING_MODEL.match(node.args[0].value)
        ):
            yield node.args[0].value


def upward_dependencies():
    """{(package, what it leans on)} for every import (run time, in functions, for the type
    checker) and string foreign key that points to a higher layer. Migrations are history and
    tests may use anything."""
    found = set()
    for package in LAYERS:
        for path, module in _source_files(package).items():
            tree = ast.parse(path.read_text(), str(path))
            names = {*_imported_modules(path, module), *_string_foreign_keys(tree)}
            for name in names:
                parts = name.split(".")
                if parts[0] not in LAYERS or parts[0] == package or len(parts) < 2:
                    continue
                if LAYERS[parts[0]] > LAYERS[package]:
                    found.add((package, ".".join(parts[:2])))
    return found


def test_every_dependency_points_down_the_layers():
    assert upward_dependencies() - ALLOWED_UPWARD == set()


def test_no_app_imports_the_project_package():
    offenders = sorted(
        f"{package}: {name}"
        for package in APPS
        for path, module in _source_files(package).items()
        for name in _imported_modules(path, module)
        if name.split(".")[0] == "bookstore"
    )
    assert offenders == []


def test_an_upward_import_for_the_type_checker_or_a_string_key_is_caught(tmp_path):
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from payments.models import Payment\n"
        "link = models.ForeignKey('payments.Payment', on_delete=models.CASCADE)\n"
    )
    path = tmp_path / "models.py"
    path.write_text(ast.unparse(tree))
    assert "payments.models" in set(_imported_modules(path, "orders.models"))
    assert list(_string_foreign_keys(tree)) == ["payments.Payment"]
