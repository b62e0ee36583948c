from django.apps import AppConfig


class BookstoreConfig(AppConfig):
    """The project package as an app, so that its system checks are registered."""

    name = "bookstore"
    verbose_name = "Bookstore"

    def ready(self):
        from . import checks  # noqa: F401  (registers the checks)
