from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app leans on and no app owns: Idempotency-Key replays and the email outbox."""

    name = "core"
    verbose_name = "Shared services"
