"""Retention: what the purge deletes, in small batches so chat goes on meanwhile.

Each room keeps its newest `kept_messages` messages and, when a day limit is
set, none older than that. Deleting a message deletes its stream event too, and
the stream records the highest position it deleted: a cursor from before that
gets 410 and its client reloads history (API.md).

Transient data is cleared by every app process's maintenance loop every ~10 s:
ephemeral rooms' messages after PARLEY_EPHEMERAL_SECONDS, typing events after
PARLEY_TYPING_SECONDS, and other events (room changes, receipts, presence)
after PARLEY_EVENT_RETENTION_SECONDS.
"""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from . import events
from .models import Event, Message, Room

BATCH_SIZE = 2000


def purge_messages(*, now=None, dry_run=False, batch_size=BATCH_SIZE) -> dict[str, int]:
    """Delete messages beyond each room's window; return {room slug: count} for rooms that had any."""
    now = now or timezone.now()
    report = {}
    for room in Room.objects.filter(is_ephemeral=False).order_by("id").iterator():
        ids = _expired_ids(room, now)
        count = ids.count()
        if count and not dry_run:
            count = _delete_in_batches(ids, batch_size)
        if count:
            report[room.slug] = count
    return report


def _expired_ids(room, now):
    messages = Message.objects.in_room(room)
    newest_kept = messages.order_by("-id").values_list("id", flat=True)[room.kept_messages - 1:room.kept_messages]
    expired = messages.filter(id__lt=newest_kept.first() or 0)
    if room.kept_days:
        expired = expired | messages.filter(created_at__lt=now - timedelta(days=room.kept_days))
    return expired


def _delete_in_batches(queryset, batch_size, *, mark=True):
    """Delete the queryset's messages a batch per short transaction; return how many went."""
    deleted = 0
    while True:
        ids = list(queryset.order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            if mark:
                last = Event.objects.filter(message_id__in=ids).aggregate(Max("position"))["position__max"]
                if last:
                    events.mark_pruned(last)
            Event.objects.filter(message_id__in=ids).delete()
            deleted += Message.objects.filter(id__in=ids).delete()[0]


def purge_transient(*, now=None) -> None:
    """Clear ephemeral messages, old typing events and old other events."""
    now = now or timezone.now()
    ephemeral = Message.objects.filter(
        room__is_ephemeral=True, created_at__lt=now - timedelta(seconds=settings.PARLEY_EPHEMERAL_SECONDS)
    )
    # Ephemeral messages were only ever for live pollers: no cursor expires over them.
    _delete_in_batches(ephemeral, BATCH_SIZE, mark=False)
    Event.objects.filter(
        type=Event.TYPING, created_at__lt=now - timedelta(seconds=settings.PARLEY_TYPING_SECONDS)
    ).delete()
    old = Event.objects.filter(
        message__isnull=True, created_at__lt=now - timedelta(seconds=settings.PARLEY_EVENT_RETENTION_SECONDS)
    ).exclude(type=Event.TYPING)
    last = old.aggregate(Max("position"))["position__max"]
    if last:
        with transaction.atomic():
            events.mark_pruned(last)
            old.filter(position__lte=last).delete()
