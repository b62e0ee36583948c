"""The data export (`GET /api/users/me/export/`): one JSON document of everything the shop keeps
about a customer. Each app contributes the sections it owns (`export_section_register`, called
from its AppConfig.ready()), so this package names no app above it; the document's documented
shape is assembled from the same registrations."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from .models import User


@dataclass(frozen=True)
class ExportSection:
    key: str
    # The section's data for one customer, ready for JSON.
    gather: Callable[[User], Any]
    # A new instance of the serializer field that documents the section's shape.
    field: Callable[[], serializers.Field]


_sections: dict[str, ExportSection] = {}


def export_section_register(section: ExportSection) -> None:
    _sections[section.key] = section


def export_sections() -> list[ExportSection]:
    return list(_sections.values())


def user_data_export(*, user: User) -> dict[str, Any]:
    """Everything the shop keeps about `user`, section by section, in registration order."""
    return {"exported_at": timezone.now().isoformat()} | {
        section.key: section.gather(user) for section in _sections.values()
    }


class DataExportSerializer(serializers.Serializer):
    """Everything the shop keeps about the customer."""

    exported_at = serializers.DateTimeField()

    def get_fields(self) -> dict[str, serializers.Field]:
        return super().get_fields() | {
            section.key: section.field() for section in _sections.values()
        }
