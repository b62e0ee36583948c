from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Routes that match with or without the trailing slash, so no redirect ever drops a POST."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"
