"""How the apps may lean on each other: no app imports another app's views or admin, orders
never imports payments (payments builds on orders), and the shared core app imports no app.
(The project package composes the apps: its URLs and admin site import them.)"""

import ast
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
