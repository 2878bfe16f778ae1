"""Message search over the rooms a user is a member of.

On PostgreSQL this is full-text search (`websearch_to_tsquery`, the "simple"
configuration so that names and other languages are not stemmed away), ranked
with ts_rank and served by a GIN index on the same expression (migration 0002).
On SQLite it is a plain fallback: every word must appear, newest first.
"""
from django.db import connection
from django.db.models import F, Q

from .models import Membership, Message

SEARCH_CONFIG = "simple"


def search_messages(*, user, query: str, room=None, limit: int = 50):
    rooms = Membership.objects.filter(user=user, room__is_ephemeral=False).values("room_id")
    messages = Message.objects.filter(room_id__in=rooms).with_refs()
    if room is not None:
        messages = messages.filter(room=room)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        vector = SearchVector("body", config=SEARCH_CONFIG)
        terms = SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
        return list(
            messages.annotate(document=vector, rank=SearchRank(vector, terms))
            .filter(document=terms)
            .order_by(F("rank").desc(), "-id")[:limit]
        )
    words = query.split()[:10]
    condition = Q()
    for word in words:
        condition &= Q(body__icontains=word)
    return list(messages.filter(condition).order_by("-id")[:limit])
