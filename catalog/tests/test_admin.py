"""The catalogue in the back office, as a store manager uses it: pages, bulk actions, stock
adjustment through `inventory.stock_adjust`, and the CSV import through `books_import`."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.roles import STORE_MANAGERS_GROUP
from accounts.tests.factories import StaffFactory, UserFactory
from catalog.models import Author, Book, Genre
from catalog.tests.factories import AuthorFactory, BookFactory, GenreFactory
from catalog.tests.test_importer import BOOKS_IN_FIXTURE, DIRTY_BOOKS, EXPECTED_SKIPS
from orders import services as order_services

pytestmark = pytest.mark.django_db

BOOKS = "/admin/catalog/book/"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def hold(book, quantity):
    """A pending order holding `quantity` copies of `book`."""
    return order_services.order_place(
        user=UserFactory(), items=[{"book": book.pk, "quantity": quantity}]
    )


def run_action(client, action, books, **fields):
    return client.post(
        BOOKS, {"action": action, "_selected_action": [book.pk for book in books], **fields}
    )


def stock(book):
    book.refresh_from_db()
    return book.stock_quantity, book.reserved_quantity


def catalog_urls():
    book, author, genre = BookFactory(), AuthorFactory(), GenreFactory()
    return [
        "/admin/",
        "/admin/catalog/",
        BOOKS,
        f"{BOOKS}?stock=restock&is_active__exact=1",
        f"{BOOKS}?q={book.title}",
        f"{BOOKS}add/",
        f"{BOOKS}{book.pk}/change/",
        f"{BOOKS}{book.pk}/history/",
        f"{BOOKS}import/",
        "/admin/catalog/author/",
        "/admin/catalog/author/add/",
        f"/admin/catalog/author/{author.pk}/change/",
        "/admin/catalog/genre/",
        "/admin/catalog/genre/add/",
        f"/admin/catalog/genre/{genre.pk}/change/",
    ]


# --- Who gets in ------------------------------------------------------------------------------


def test_every_catalogue_page_loads_for_a_store_manager(manager_client):
    for url in catalog_urls():
        assert manager_client.get(url).status_code == 200, url


def test_anonymous_visitors_and_customers_are_sent_to_the_login_page(client):
    customer = client_for(UserFactory())
    for url in catalog_urls():
        for visitor in (client, customer):
            response = visitor.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url


def test_a_manager_edits_a_books_authors_on_its_page(manager_client):
    book = BookFactory()
    page = manager_client.get(f"{BOOKS}{book.pk}/change/").content.decode()
    # The author links have no permissions of their own: they follow the book's.
    assert 'name="book_authors-TOTAL_FORMS"' in page


def test_the_book_list_offers_the_import_only_to_who_may_add_and_change_books(manager_client):
    assert f'href="{BOOKS}import/"' in manager_client.get(BOOKS).content.decode()

    viewer = StaffFactory()
    viewer.user_permissions.add(*Group.objects.get(name=STORE_MANAGERS_GROUP).permissions.all())
    viewer.user_permissions.remove(
        *viewer.user_permissions.filter(codename__in=["add_book", "change_book"])
    )
    viewer_client = client_for(viewer)
    assert f'href="{BOOKS}import/"' not in viewer_client.get(BOOKS).content.decode()
    assert viewer_client.get(f"{BOOKS}import/").status_code == 403


# --- Activate and archive ------------------------------------------------------------------


def test_archive_and_activate_flip_only_the_flag(manager_client, manager):
    on_sale = BookFactory(stock_quantity=7)
    archived = BookFactory(is_active=False)

    response = run_action(manager_client, "archive", [on_sale, archived])
    assert response.status_code == 302
    assert not Book.objects.get(pk=on_sale.pk).is_active
    assert stock(on_sale) == (7, 0)
    assert LogEntry.objects.get(object_id=str(on_sale.pk)).change_message == "Archived."
    assert not LogEntry.objects.filter(object_id=str(archived.pk)).exists()  # already archived

    run_action(manager_client, "activate", [on_sale, archived])
    assert set(Book.objects.values_list("is_active", flat=True)) == {True}
    assert LogEntry.objects.filter(user=manager, change_message="Put on sale.").count() == 2


# --- Adjusting stock -----------------------------------------------------------------------


def test_adjust_stock_asks_for_the_change_first(manager_client):
    books = [BookFactory(title="Dune", stock_quantity=4), BookFactory(title="Emma")]
    response = run_action(manager_client, "adjust_stock", books)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Dune" in page and "Emma" in page
    assert 'name="stock-delta"' in page and 'name="stock-note"' in page
    assert stock(books[0]) == (4, 0)  # nothing changed yet


def test_adjust_stock_adds_the_delta_to_every_selected_book(manager_client):
    dune = BookFactory(stock_quantity=4)
    emma = BookFactory(stock_quantity=0)
    hold(dune, 3)
    untouched = BookFactory(stock_quantity=9)

    response = run_action(
        manager_client,
        "adjust_stock",
        [dune, emma],
        **{"stock-delta": "12", "stock-note": "Delivery", "apply_stock_adjustment": "1"},
    )

    assert response.status_code == 302
    assert stock(dune) == (16, 3)
    assert stock(emma) == (12, 0)
    assert stock(untouched) == (9, 0)
    assert LogEntry.objects.get(object_id=str(dune.pk)).change_message == "Stock +12: Delivery"


def test_adjust_stock_below_what_orders_hold_changes_nothing_and_says_why(manager_client):
    dune = BookFactory(title="Dune", stock_quantity=10)
    emma = BookFactory(title="Emma", stock_quantity=3)
    hold(emma, 2)

    response = run_action(
        manager_client,
        "adjust_stock",
        [dune, emma],
        **{"stock-delta": "-2", "stock-note": "Damaged", "apply_stock_adjustment": "1"},
    )

    assert response.status_code == 200  # the form again, with the reason
    page = response.content.decode()
    assert "Nothing was changed" in page
    assert "Emma: on hand cannot be 1; 2 copies are held by unpaid orders." in page
    assert stock(dune) == (10, 0)  # all or nothing
    assert stock(emma) == (3, 2)
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize(
    ("delta", "note", "message"),
    [
        ("0", "Count", "A change of 0 changes nothing"),
        ("1.5", "Count", "Enter a whole number."),
        ("3", "", "This field is required."),
    ],
)
def test_adjust_stock_form_rejects_a_bad_change(manager_client, delta, note, message):
    book = BookFactory(stock_quantity=4)
    response = run_action(
        manager_client,
        "adjust_stock",
        [book],
        **{"stock-delta": delta, "stock-note": note, "apply_stock_adjustment": "1"},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert stock(book) == (4, 0)


# --- Low stock -----------------------------------------------------------------------------


def test_restock_filter_lists_books_with_fewer_than_five_available(manager_client):
    BookFactory(title="Plenty", stock_quantity=10)
    BookFactory(title="Sold Out", stock_quantity=0)
    held = BookFactory(title="Mostly Held", stock_quantity=6)
    hold(held, 3)

    page = manager_client.get(BOOKS, {"stock": "restock"}).content.decode()
    assert "Sold Out" in page and "Mostly Held" in page
    assert "Plenty" not in page


# --- CSV import ----------------------------------------------------------------------------


def upload(client, content, name="books.csv"):
    return client.post(f"{BOOKS}import/", {"csv_file": SimpleUploadedFile(name, content)})


def test_import_runs_books_import_and_shows_its_summary(manager_client):
    response = upload(manager_client, DIRTY_BOOKS.read_bytes())

    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.created, summary.updated, summary.unchanged) == (BOOKS_IN_FIXTURE, 0, 0)
    assert dict(summary.skipped) == EXPECTED_SKIPS
    assert Book.objects.count() == BOOKS_IN_FIXTURE
    page = response.content.decode()
    assert f'<td id="import-created">{BOOKS_IN_FIXTURE}</td>' in page
    for reason in EXPECTED_SKIPS:
        assert reason in page
    assert "abc" in page  # the skipped row with the invalid book_id is listed

    again = upload(manager_client, DIRTY_BOOKS.read_bytes()).context["summary"]
    assert (again.created, again.updated, again.unchanged) == (0, 0, BOOKS_IN_FIXTURE)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id,name\n1,Dune\n", "The CSV has no book_id, title column."),
        ("book_id,title\n1,Caf\u00e9\n".encode("latin-1"), "The file is not UTF-8 text"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_with_the_reason(
    manager_client, content, message
):
    response = upload(manager_client, content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["summary"] is None
    assert not Book.objects.exists()


def test_renaming_an_author_or_genre_in_the_admin_updates_their_books(manager_client):
    author, genre = AuthorFactory(name="Old Author"), GenreFactory(name="Old Genre")
    book = BookFactory(authors=[author], genres=[genre])
    for path, name, slug in [
        (f"/admin/catalog/author/{author.pk}/change/", "New Author", "new-author"),
        (f"/admin/catalog/genre/{genre.pk}/change/", "New Genre", "new-genre"),
    ]:
        response = manager_client.post(path, {"name": name, "slug": slug})
        assert response.status_code == 302, response.content
    book.refresh_from_db()
    assert book.authors_text == "New Author"
    assert book.author_list == [{"id": author.pk, "name": "New Author", "slug": "new-author"}]
    assert book.genre_list == [{"id": genre.pk, "name": "New Genre", "slug": "new-genre"}]


def test_deleting_genres_in_the_admin_takes_them_off_their_books(manager_client):
    kept, gone, also_gone = GenreFactory.create_batch(3)
    book = BookFactory(genres=[kept, gone, also_gone])
    response = manager_client.post(
        "/admin/catalog/genre/",
        {"action": "delete_selected", "_selected_action": [gone.pk, also_gone.pk], "post": "yes"},
    )
    assert response.status_code == 302
    book.refresh_from_db()
    assert [genre["id"] for genre in book.genre_list] == [kept.pk]
    response = manager_client.post(f"/admin/catalog/genre/{kept.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    book.refresh_from_db()
    assert book.genre_list == []


def test_a_book_added_in_the_admin_is_written_by_the_service_like_one_from_the_api(
    manager_client,
):
    author, genre = AuthorFactory(name="Mary Shelley"), GenreFactory(name="Gothic")
    response = manager_client.post(
        f"{BOOKS}add/",
        {
            "title": "Frankenstein",
            "price": "7.50",
            "is_active": "on",
            "stock_quantity": "4",
            "language": "en",
            "genres": [genre.pk],
            "book_authors-TOTAL_FORMS": "1",
            "book_authors-INITIAL_FORMS": "0",
            "book_authors-0-author": author.pk,
            "book_authors-0-position": "0",
        },
    )
    assert response.status_code == 302, response.content
    book = Book.objects.get(title="Frankenstein")
    assert (book.stock_quantity, book.reserved_quantity) == (4, 0)
    assert book.authors_text == "Mary Shelley"
    assert book.author_list == [{"id": author.pk, "name": "Mary Shelley", "slug": author.slug}]
    assert book.genre_list == [{"id": genre.pk, "name": "Gothic", "slug": genre.slug}]
    assert LogEntry.objects.filter(object_id=str(book.pk)).exists()


def test_authors_and_genres_added_in_the_admin_get_tidy_names(manager_client):
    for path, name, slug in [
        ("/admin/catalog/author/add/", "  Mary   Shelley ", "mary-shelley"),
        ("/admin/catalog/genre/add/", " Gothic  fiction", "gothic-fiction"),
    ]:
        response = manager_client.post(path, {"name": name, "slug": slug})
        assert response.status_code == 302, response.content
    assert Author.objects.get(slug="mary-shelley").name == "Mary Shelley"
    assert Genre.objects.get(slug="gothic-fiction").name == "Gothic fiction"
