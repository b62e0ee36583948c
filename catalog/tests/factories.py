from decimal import Decimal

import factory

from catalog.models import Author, Book, BookAuthor, Genre
from catalog.ratings import book_ratings_refresh
from catalog.search import book_search_refresh


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Author {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-").replace(".", ""))


class GenreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Genre
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Genre {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))


class BookFactory(factory.django.DjangoModelFactory):
    """A book with one author by default; `authors=[...]` and `genres=[...]` set them in order.
    The author, genre and search columns are filled as the services fill them."""

    class Meta:
        model = Book
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Book {n}")
    price = Decimal("12.50")
    stock_quantity = 10
    language = "en"
    publication_year = 2001

    @factory.post_generation
    def authors(book, create, extracted, **kwargs):
        if not create:
            return
        authors = extracted if extracted is not None else [AuthorFactory()]
        BookAuthor.objects.bulk_create(
            [BookAuthor(book=book, author=a, position=i) for i, a in enumerate(authors)]
        )
        book.set_authors_columns(authors)
        book.save(update_fields=["authors_text", "author_list"])

    @factory.post_generation
    def genres(book, create, extracted, **kwargs):
        if create and extracted:
            book.genres.set(extracted)
            book.set_genres_columns(extracted)
            book.save(update_fields=["genre_list"])

    @factory.post_generation
    def index(book, create, extracted, **kwargs):
        if create:
            book_ratings_refresh(book_ids=[book.pk])
            book.refresh_from_db(fields=["combined_average_rating", "combined_ratings_count"])
            book_search_refresh(book_ids=[book.pk])
