"""Deleting old rows without holding locks for long: the retention jobs' one way to delete."""

import time

from django.db import transaction


def delete_in_batches(queryset, *, batch_size, pause_seconds=0.0):
    """Delete the rows of `queryset` `batch_size` at a time, oldest primary keys first, each
    batch in its own short transaction (so a table is never locked for long and a concurrent
    writer waits at most one batch). Returns how many rows were deleted.

    Safe on several machines at once: a row another process deleted first is simply not counted.
    """
    model = queryset.model
    deleted = 0
    while True:
        batch = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        with transaction.atomic():
            _, per_model = model._base_manager.filter(pk__in=batch).delete()
        deleted += per_model.get(model._meta.label, 0)
        if len(batch) < batch_size:
            return deleted
        if pause_seconds:
            time.sleep(pause_seconds)
