"""Verified-purchase reviews: who may write them, what anyone sees, staff moderation, and the
book's public figures (imported ratings combined with the visible reviews) and search rank."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from catalog import ratings, services
from catalog.models import Book, Review
from catalog.purchases import has_bought
from catalog.serializers import reviewer_name
from catalog.tests.factories import BookFactory
from core.testing import ProblemCheckingAPIClient, assert_problem
from orders import services as order_services
from orders.models import Order

pytestmark = pytest.mark.django_db


def paid_order(user, book):
    order = order_services.order_place(user=user, items=[{"book": book.pk, "quantity": 1}])
    order_services.order_mark_paid(order_id=order.pk)
    return Order.objects.get(pk=order.pk)


def client_for(user):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def book():
    return BookFactory(stock_quantity=20, average_rating=Decimal("4.00"), ratings_count=3)


@pytest.fixture
def buyer(book):
    user = UserFactory(first_name="Ada", last_name="Lovelace")
    paid_order(user, book)
    return user


def post_review(user, book, **body):
    return client_for(user).post(
        f"/api/books/{book.pk}/reviews/", {"rating": 5, "title": "Loved it", **body}
    )


# --- Who may review ---------------------------------------------------------------------------


def test_a_buyer_reviews_the_book_once(book, buyer):
    response = post_review(buyer, book, body="A classic.")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["rating"] == 5 and body["verified_purchase"] is True
    assert body["reviewer"] == "Ada L."
    assert "user" not in body and "email" not in str(body)
    again = post_review(buyer, book)
    assert_problem(again, 400, "validation_error")
    assert Review.objects.filter(book=book).count() == 1


@pytest.mark.parametrize("how", ["never_ordered", "pending", "refunded", "cancelled"])
def test_only_a_paid_not_refunded_order_makes_a_buyer(book, how):
    user = UserFactory()
    if how == "pending":
        order_services.order_place(user=user, items=[{"book": book.pk, "quantity": 1}])
    elif how == "refunded":
        order_services.order_refund(order_id=paid_order(user, book).pk, actor_label="staff")
    elif how == "cancelled":
        order = order_services.order_place(user=user, items=[{"book": book.pk, "quantity": 1}])
        order_services.order_cancel(order=order, actor=user)
    assert_problem(post_review(user, book), 403, "not_a_buyer")
    assert not Review.objects.exists()


def test_shipped_and_delivered_orders_count_as_bought(book, manager):
    user = UserFactory()
    order = paid_order(user, book)
    order_services.order_ship(order=order, actor=manager)
    assert has_bought(user_id=user.pk, book_id=book.pk)
    order_services.order_deliver(order=order, actor=manager)
    assert has_bought(user_id=user.pk, book_id=book.pk)
    assert not has_bought(user_id=user.pk, book_id=BookFactory().pk)


def test_signing_in_is_needed_to_review(book):
    response = ProblemCheckingAPIClient().post(f"/api/books/{book.pk}/reviews/", {"rating": 5})
    assert_problem(response, 401, "not_authenticated")


@pytest.mark.parametrize(
    "body",
    [
        {"rating": 0},
        {"rating": 6},
        {"rating": "five"},
        {},
        {"rating": 4, "title": "t" * 201},
        {"rating": 4, "body": "b" * 5001},
    ],
)
def test_rating_and_lengths_are_checked(book, buyer, body):
    response = client_for(buyer).post(f"/api/books/{book.pk}/reviews/", body)
    assert_problem(response, 400, "validation_error")


def test_unknown_and_archived_books_are_not_found(buyer, book):
    assert_problem(post_review(buyer, Book(pk=999999)), 404, "not_found")
    Book.objects.filter(pk=book.pk).update(is_active=False)
    assert_problem(post_review(buyer, book), 404, "not_found")
    response = ProblemCheckingAPIClient().get(f"/api/books/{book.pk}/reviews/")
    assert_problem(response, 404, "not_found")


def test_creation_is_throttled_before_the_purchase_is_looked_up(throttle_rates, book, buyer):
    throttle_rates(reviews="1/hour")
    stranger = client_for(UserFactory())
    assert_problem(stranger.post(f"/api/books/{book.pk}/reviews/", {"rating": 5}), 403)
    throttled = stranger.post(f"/api/books/{book.pk}/reviews/", {"rating": 5})
    assert_problem(throttled, 429, "throttled")
    # Per customer: the buyer's own budget is untouched, and reading is not counted.
    assert post_review(buyer, book).status_code == 201


@pytest.mark.parametrize("method", ["put", "delete"])
def test_rewriting_and_deleting_are_throttled_before_the_book_is_locked(
    throttle_rates, book, buyer, method, django_assert_max_num_queries
):
    throttle_rates(reviews="1/hour")
    post_review(buyer, book, rating=2)  # spends the buyer's one write this hour
    client = client_for(buyer)
    with django_assert_max_num_queries(0):
        refused = getattr(client, method)(f"/api/books/{book.pk}/reviews/mine/", {"rating": 5})
    assert_problem(refused, 429, "throttled")
    assert Review.objects.get().rating == 2


# --- The customer's own review -----------------------------------------------------------------


def test_the_reviewer_changes_and_removes_their_review(book, buyer):
    post_review(buyer, book, rating=2)
    client = client_for(buyer)
    mine = f"/api/books/{book.pk}/reviews/mine/"
    assert client.get(mine).json()["rating"] == 2
    changed = client.put(mine, {"rating": 4, "title": "Better on rereading"})
    assert changed.status_code == 200
    assert (changed.json()["rating"], changed.json()["body"]) == (4, "")
    assert client.delete(mine).status_code == 204
    assert_problem(client.get(mine), 404, "not_found")
    assert_problem(client.delete(mine), 404, "not_found")


def test_someone_elses_review_is_not_theirs_to_change(book, buyer):
    post_review(buyer, book)
    other_buyer = UserFactory()
    paid_order(other_buyer, book)
    client = client_for(other_buyer)
    mine = f"/api/books/{book.pk}/reviews/mine/"
    assert_problem(client.put(mine, {"rating": 1}), 404, "not_found")
    assert_problem(client.delete(mine), 404, "not_found")
    assert Review.objects.get().rating == 5


def test_a_refunded_customer_cannot_rewrite_their_review(book):
    user = UserFactory()
    order = paid_order(user, book)
    post_review(user, book, rating=5)
    order_services.order_refund(order_id=order.pk, actor_label="staff")
    response = client_for(user).put(f"/api/books/{book.pk}/reviews/mine/", {"rating": 1})
    assert_problem(response, 403, "not_a_buyer")
    assert client_for(user).delete(f"/api/books/{book.pk}/reviews/mine/").status_code == 204


def test_a_refund_takes_the_verified_purchase_badge_unless_another_order_keeps_it(book):
    refunded_only, bought_twice = UserFactory(), UserFactory()
    refunded = paid_order(refunded_only, book)
    post_review(refunded_only, book, rating=5)
    first, _second = paid_order(bought_twice, book), paid_order(bought_twice, book)
    post_review(bought_twice, book, rating=4)
    order_services.order_refund(order_id=refunded.pk, actor_label="staff")
    order_services.order_refund(order_id=first.pk, actor_label="staff")
    shown = {
        review["rating"]: review["verified_purchase"]
        for review in ProblemCheckingAPIClient()
        .get(f"/api/books/{book.pk}/reviews/")
        .json()["results"]
    }
    assert shown == {5: False, 4: True}  # both still shown and counted


# --- What anyone sees --------------------------------------------------------------------------


def test_the_public_list_newest_first_or_best_first(book):
    for rating, first_name in [(3, "Ann"), (5, "Bob"), (1, "Cy")]:
        user = UserFactory(first_name=first_name, last_name="")
        paid_order(user, book)
        services.review_create(user=user, book_id=book.pk, rating=rating)
    anonymous = ProblemCheckingAPIClient()
    newest = anonymous.get(f"/api/books/{book.pk}/reviews/").json()
    assert newest["count"] == 3
    assert [review["rating"] for review in newest["results"]] == [1, 5, 3]
    best = anonymous.get(f"/api/books/{book.pk}/reviews/?ordering=-rating").json()
    assert [review["reviewer"] for review in best["results"]] == ["Bob", "Ann", "Cy"]
    assert_problem(anonymous.get(f"/api/books/{book.pk}/reviews/?ordering=user"), 400)


@pytest.mark.parametrize(
    ("first", "last", "shown"),
    [
        ("Ada", "Lovelace", "Ada L."),
        ("Ada", "", "Ada"),
        ("", "Lovelace", "L."),
        ("", "", "A reader"),
    ],
)
def test_the_reviewer_is_shown_by_first_name_and_initial(first, last, shown):
    assert reviewer_name(UserFactory.build(first_name=first, last_name=last)) == shown


def test_title_and_body_are_stored_as_text_and_escaped_in_the_admin(book, buyer, manager_client):
    script = "<script>alert('x')</script>"
    post_review(buyer, book, title=script, body=f"<b>bold</b> {script}")
    review = Review.objects.get()
    assert review.title == script  # as written: escaping is the page's job
    api = ProblemCheckingAPIClient().get(f"/api/books/{book.pk}/reviews/").json()
    assert api["results"][0]["title"] == script  # JSON carries text, never markup
    for page in ("/admin/catalog/review/", f"/admin/catalog/review/{review.pk}/change/"):
        html = manager_client.get(page).content.decode()
        assert "<script>alert" not in html and "&lt;script&gt;" in html, page


# --- Moderation --------------------------------------------------------------------------------


def test_staff_hide_and_restore_through_the_api(book, buyer, manager_api):
    review_id = post_review(buyer, book).json()["id"]
    hidden = manager_api.post(f"/api/reviews/{review_id}/hide/", {"reason": "Spoilers"})
    assert hidden.status_code == 200
    assert (hidden.json()["is_hidden"], hidden.json()["moderation_reason"]) == (True, "Spoilers")
    public = ProblemCheckingAPIClient().get(f"/api/books/{book.pk}/reviews/").json()
    assert public["count"] == 0 and "moderation_reason" not in str(public)
    restored = manager_api.post(f"/api/reviews/{review_id}/restore/", {"reason": "Edited"})
    assert restored.json()["is_hidden"] is False
    assert ProblemCheckingAPIClient().get(f"/api/books/{book.pk}/reviews/").json()["count"] == 1
    assert_problem(manager_api.post(f"/api/reviews/{review_id}/hide/", {}), 400)
    assert_problem(manager_api.post("/api/reviews/999999/hide/", {"reason": "x"}), 404)


def test_customers_and_bare_staff_cannot_moderate(book, buyer):
    review_id = post_review(buyer, book).json()["id"]
    for user in (buyer, UserFactory(is_staff=True)):
        response = client_for(user).post(f"/api/reviews/{review_id}/hide/", {"reason": "x"})
        assert_problem(response, 403, "permission_denied")
    assert not Review.objects.get().is_hidden


def test_staff_hide_a_review_from_the_admin_with_a_reason(book, buyer, manager, manager_client):
    review_id = post_review(buyer, book, rating=1).json()["id"]
    url = f"/admin/catalog/review/{review_id}/change/"
    refused = manager_client.post(url, {"hidden": "on", "reason": ""})
    assert refused.status_code == 200 and not Review.objects.get().is_hidden
    done = manager_client.post(url, {"hidden": "on", "reason": "Abusive"})
    assert done.status_code == 302
    review = Review.objects.get()
    assert (review.is_hidden, review.moderation_reason, review.moderated_by) == (
        True,
        "Abusive",
        manager,
    )
    book.refresh_from_db()
    assert book.combined_ratings_count == 3  # the hidden one no longer counts


def test_deleting_a_hidden_review_and_writing_again_keeps_it_hidden(book, buyer, manager_api):
    review_id = post_review(buyer, book, rating=1, body="Spam spam spam").json()["id"]
    manager_api.post(f"/api/reviews/{review_id}/hide/", {"reason": "Spam"})
    client = client_for(buyer)
    mine = f"/api/books/{book.pk}/reviews/mine/"
    assert client.delete(mine).status_code == 204
    withdrawn = Review.objects.get()
    assert (withdrawn.is_hidden, withdrawn.title, withdrawn.body) == (True, "", "")
    assert withdrawn.withdrawn_at is not None
    assert_problem(client.get(mine), 404, "not_found")  # gone, for its writer
    assert_problem(client.put(mine, {"rating": 5}), 404, "not_found")
    # Staff can no longer show what its writer deleted.
    restore = manager_api.post(f"/api/reviews/{review_id}/restore/", {"reason": "Appeal"})
    assert_problem(restore, 404, "not_found")

    again = post_review(buyer, book, rating=5, body="Spam again")
    assert again.status_code == 201 and again.json()["id"] == review_id
    assert client.get(mine).json()["body"] == "Spam again"
    public = ProblemCheckingAPIClient().get(f"/api/books/{book.pk}/reviews/").json()
    assert public["count"] == 0
    assert figures(book) == ("4.00", 3)
    assert Review.objects.get().is_hidden and Review.objects.get().withdrawn_at is None
    # Staff see it again, hidden, and may restore it as any other.
    restored = manager_api.post(f"/api/reviews/{review_id}/restore/", {"reason": "Better now"})
    assert restored.status_code == 200
    assert ProblemCheckingAPIClient().get(f"/api/books/{book.pk}/reviews/").json()["count"] == 1


def test_a_visible_review_deleted_is_gone(book, buyer):
    post_review(buyer, book)
    assert client_for(buyer).delete(f"/api/books/{book.pk}/reviews/mine/").status_code == 204
    assert not Review.objects.exists()


def test_the_admin_lists_no_withdrawn_review(book, buyer, manager_api, manager_client):
    review_id = post_review(buyer, book, title="Withdrawn one").json()["id"]
    manager_api.post(f"/api/reviews/{review_id}/hide/", {"reason": "Spam"})
    client_for(buyer).delete(f"/api/books/{book.pk}/reviews/mine/")
    assert manager_client.get(f"/admin/catalog/review/{review_id}/change/").status_code == 302
    assert (
        f"/admin/catalog/review/{review_id}/"
        not in manager_client.get("/admin/catalog/review/").content.decode()
    )


def test_the_export_tells_a_withdrawn_review_without_its_words(book, buyer, manager_api):
    review_id = post_review(buyer, book, title="My words").json()["id"]
    manager_api.post(f"/api/reviews/{review_id}/hide/", {"reason": "Spam"})
    client = client_for(buyer)
    client.delete(f"/api/books/{book.pk}/reviews/mine/")
    (exported,) = client.get("/api/users/me/export/").json()["reviews"]
    assert (exported["book"], exported["hidden"], exported["title"]) == (book.pk, True, "")
    assert exported["withdrawn_at"] is not None and "My words" not in str(exported)


# --- The book's figures and search -------------------------------------------------------------


def figures(book):
    data = ProblemCheckingAPIClient().get(f"/api/books/{book.pk}/").json()
    return data["average_rating"], data["ratings_count"]


def test_the_public_figures_combine_imported_ratings_and_visible_reviews(book, buyer, manager):
    assert figures(book) == ("4.00", 3)
    review_id = post_review(buyer, book, rating=5).json()["id"]
    assert figures(book) == ("4.25", 4)  # (4.00 x 3 + 5) / 4
    client_for(buyer).put(f"/api/books/{book.pk}/reviews/mine/", {"rating": 1})
    assert figures(book) == ("3.25", 4)
    services.review_moderate(review_id=review_id, actor=manager, hidden=True, reason="x")
    assert figures(book) == ("4.00", 3)
    services.review_moderate(review_id=review_id, actor=manager, hidden=False, reason="x")
    assert figures(book) == ("3.25", 4)
    client_for(buyer).delete(f"/api/books/{book.pk}/reviews/mine/")
    assert figures(book) == ("4.00", 3)
    # The customers' list pages (rows read by a compiled query) show the same figures.
    listed = ProblemCheckingAPIClient().get("/api/books/").json()["results"]
    assert [(b["average_rating"], b["ratings_count"]) for b in listed] == [("4.00", 3)]


@pytest.mark.parametrize(
    ("imported_average", "imported_count", "reviews", "expected"),
    [
        (None, None, [], (None, None)),
        (Decimal("3.50"), 10, [], (Decimal("3.50"), 10)),
        (None, None, [4, 5], (Decimal("4.50"), 2)),
        (Decimal("4.00"), 2, [1], (Decimal("3.00"), 3)),
        (Decimal("4.33"), 3, [5, 5, 4], (Decimal("4.50"), 6)),  # 26.99 / 6 = 4.498 -> 4.50
        (None, 7, [2], (Decimal("2.00"), 1)),  # a count without an average weighs nothing
    ],
)
def test_the_combining_formula(imported_average, imported_count, reviews, expected):
    assert (
        ratings.combined_rating(
            imported_average=imported_average,
            imported_count=imported_count,
            review_count=len(reviews),
            review_total=sum(reviews),
        )
        == expected
    )


def test_staff_correcting_the_imported_figures_keeps_the_reviews_counted(book, buyer):
    post_review(buyer, book, rating=5)
    services.book_update(book=book, average_rating=Decimal("2.00"), ratings_count=1)
    assert figures(book) == ("3.50", 2)


def test_hiding_a_review_moves_the_book_in_search(manager):
    # Two books equal for the query and their sales but for their readers' ratings: the more
    # rated ranks first.
    quiet = BookFactory(title="Night Garden", ratings_count=2, average_rating=Decimal("4.00"))
    talked_about = BookFactory(title="Night Gardens", ratings_count=1, average_rating=Decimal("4"))
    reviews = []
    for _ in range(3):
        paid_order(UserFactory(), quiet)
        user = UserFactory()
        paid_order(user, talked_about)
        reviews.append(services.review_create(user=user, book_id=talked_about.pk, rating=5))

    def ranked():
        results = ProblemCheckingAPIClient().get("/api/books/?search=night").json()["results"]
        return [book["id"] for book in results]

    assert ranked() == [talked_about.pk, quiet.pk]
    for review in reviews:
        services.review_moderate(review_id=review.pk, actor=manager, hidden=True, reason="Paid")
    assert ranked() == [quiet.pk, talked_about.pk]
    services.review_moderate(review_id=reviews[0].pk, actor=manager, hidden=False, reason="OK")
    services.review_moderate(review_id=reviews[1].pk, actor=manager, hidden=False, reason="OK")
    assert ranked() == [talked_about.pk, quiet.pk]


def test_the_admin_shows_reviews_only_to_staff_who_may_view_them(book, buyer):
    post_review(buyer, book)
    bare_staff = Client()
    bare_staff.force_login(UserFactory(is_staff=True))
    assert bare_staff.get("/admin/catalog/review/").status_code == 403


def test_a_closed_accounts_reviews_go_and_stop_counting(book, buyer):
    from accounts.services import user_close

    post_review(buyer, book, rating=1)
    user_close(user=buyer, actor=buyer)
    assert not Review.objects.exists()
    assert figures(book) == ("4.00", 3)


def test_closing_takes_as_many_queries_for_many_reviewed_books_as_for_one():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def closing_queries(books):
        customer = UserFactory()
        for book in books:
            paid_order(customer, book)
            post_review(customer, book, rating=1)
        with CaptureQueriesContext(connection) as captured:
            services.catalog_account_closing(user=customer)
        assert not Review.objects.filter(user=customer).exists()
        return len(captured)

    few = closing_queries([BookFactory(stock_quantity=5)])
    many_books = [BookFactory(stock_quantity=5) for _ in range(6)]
    assert closing_queries(many_books) == few
    for book in Book.objects.filter(pk__in=[book.pk for book in many_books]):
        assert book.combined_ratings_count == book.ratings_count  # their review no longer counts
