"""The returns API: customers ask, staff with the model permission decide."""

from decimal import Decimal

import pytest

from accounts.tests.factories import StaffFactory, UserFactory
from catalog.tests.factories import BookFactory
from core.testing import ProblemCheckingAPIClient, assert_problem, field_errors
from orders.tests.factories import shipped_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def book():
    return BookFactory(price=Decimal("12.00"), stock_quantity=10)


@pytest.fixture
def order(user, book):
    return shipped_order(user=user, lines={book: 2})


def body(book, quantity=1, reason="Arrived damaged"):
    return {"items": [{"book": book.pk, "quantity": quantity}], "reason": reason}


def test_owner_asks_for_a_return(user_client, order, book):
    response = user_client.post(f"/api/orders/{order.pk}/returns/", body(book))
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "requested"
    assert data["order"] == order.pk
    assert data["refund_amount"] == "12.00"
    assert data["items"] == [
        {"book": book.pk, "title": book.title, "unit_price": "12.00", "quantity": 1}
    ]
    assert {"id", "number", "created_at"} <= data.keys()
    shown = user_client.get(f"/api/orders/{order.pk}/").json()
    assert shown["returns"][0]["number"] == data["number"]
    assert shown["events"][-1]["kind"] == "return_requested"
    assert shown["disputed"] is None  # for staff only


def test_the_reason_reaches_the_staff_on_one_line_as_the_customers_words(user_client, order, book):
    from core.models import OutboxEmail

    forged = "Damaged\n\nApprove or reject it in the admin: https://evil.example/\u202e"
    response = user_client.post(f"/api/orders/{order.pk}/returns/", body(book, reason=forged))
    assert response.status_code == 201, response.json()
    email = OutboxEmail.objects.get(kind="staff_return_requested")
    reason_lines = [line for line in email.text_body.splitlines() if "evil.example" in line]
    assert reason_lines == [
        "Reason, in the customer's words: \"Damaged Approve or reject it in the admin: "
        'https://evil.example/"'
    ]


def test_the_quote_answers_the_figure_and_creates_nothing(user_client, order, book):
    response = user_client.post(f"/api/orders/{order.pk}/returns/quote/", body(book, 2))
    assert response.status_code == 200, response.json()
    assert response.json()["refund_amount"] == str(order.total)
    assert user_client.get("/api/returns/").json()["count"] == 0


def test_too_many_copies_name_the_line(user_client, order, book):
    response = user_client.post(f"/api/orders/{order.pk}/returns/", body(book, 3))
    assert field_errors(assert_problem(response, 400, "validation_error")) == {"items.0.quantity"}


def test_an_unshipped_order_is_refused(user_client, user, book):
    from orders import services

    order = services.order_place(user=user, items=[{"book": book.pk, "quantity": 1}])
    response = user_client.post(f"/api/orders/{order.pk}/returns/", body(book))
    assert_problem(response, 409, "return_not_allowed")


@pytest.mark.parametrize("path", ["returns/", "returns/quote/"])
def test_a_disputed_order_takes_no_return_and_names_no_dispute(user_client, order, book, path):
    from orders.models import Order, Return

    Order.objects.filter(pk=order.pk).update(disputed=True)
    refused = user_client.post(f"/api/orders/{order.pk}/{path}", body(book))
    assert_problem(refused, 409, "return_not_allowed")
    assert "disput" not in refused.content.decode().lower()
    assert not Return.objects.exists()


def test_someone_elses_order_and_return_are_404(order, book, staff_client):
    stranger = ProblemCheckingAPIClient()
    stranger.force_authenticate(UserFactory())
    assert_problem(stranger.post(f"/api/orders/{order.pk}/returns/", body(book)), 404, "not_found")
    assert_problem(
        stranger.post(f"/api/orders/{order.pk}/returns/quote/", body(book)), 404, "not_found"
    )
    # Staff may see the order, but only its owner asks for a return.
    assert_problem(staff_client.post(f"/api/orders/{order.pk}/returns/", body(book)), 404)
    assert_problem(stranger.post("/api/orders/99999999/returns/", body(book)), 404, "not_found")
    owner = ProblemCheckingAPIClient()
    owner.force_authenticate(order.user)
    created = owner.post(f"/api/orders/{order.pk}/returns/", body(book)).json()
    assert_problem(stranger.get(f"/api/returns/{created['id']}/"), 404, "not_found")
    assert stranger.get("/api/returns/").json()["count"] == 0


def test_staff_list_all_and_filter_by_status(user_client, order, book, staff_client):
    created = user_client.post(f"/api/orders/{order.pk}/returns/", body(book)).json()
    assert staff_client.get("/api/returns/?status=requested").json()["count"] == 1
    assert staff_client.get("/api/returns/?status=approved").json()["count"] == 0
    assert staff_client.get(f"/api/returns/{created['id']}/").json()["number"] == created["number"]


def test_store_manager_takes_each_step(user_client, order, book, staff_client):
    created = user_client.post(f"/api/orders/{order.pk}/returns/", body(book, 2)).json()
    url = f"/api/returns/{created['id']}"
    assert_problem(
        staff_client.post(f"{url}/receive/", {"restock": True}), 409, "invalid_status_transition"
    )
    assert staff_client.post(f"{url}/approve/").json()["status"] == "approved"
    assert_problem(
        staff_client.post(f"{url}/reject/", {"note": "no"}), 409, "invalid_status_transition"
    )
    assert_problem(staff_client.post(f"{url}/receive/", {}), 400, "validation_error")
    received = staff_client.post(f"{url}/receive/", {"restock": True})
    assert received.json()["status"] == "received"
    assert received.json()["restocked"] is True
    book.refresh_from_db()
    assert book.stock_quantity == 10


def test_reject_needs_a_note(user_client, order, book, staff_client):
    created = user_client.post(f"/api/orders/{order.pk}/returns/", body(book)).json()
    url = f"/api/returns/{created['id']}/reject/"
    assert_problem(staff_client.post(url, {}), 400, "validation_error")
    rejected = staff_client.post(url, {"note": "The seal was broken."}).json()
    assert (rejected["status"], rejected["note"]) == ("rejected", "The seal was broken.")


def test_staff_without_the_permission_and_customers_cannot_decide(user_client, order, book):
    created = user_client.post(f"/api/orders/{order.pk}/returns/", body(book)).json()
    plain_staff = ProblemCheckingAPIClient()
    plain_staff.force_authenticate(StaffFactory())
    for client in (plain_staff, user_client):
        for step in ("approve", "reject", "receive", "refund"):
            response = client.post(f"/api/returns/{created['id']}/{step}/", {})
            assert_problem(response, 403, "permission_denied")


def test_return_requests_are_throttled_before_any_work(user_client, order, book, throttle_rates):
    from core.models import OutboxEmail

    throttle_rates(returns="1/hour")
    assert user_client.post(f"/api/orders/{order.pk}/returns/", body(book)).status_code == 201
    emails = OutboxEmail.objects.count()
    assert_problem(
        user_client.post(f"/api/orders/{order.pk}/returns/", body(book)), 429, "throttled"
    )
    assert OutboxEmail.objects.count() == emails
