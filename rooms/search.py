"""Message search over the rooms a user is a member of.

On PostgreSQL this is full-text search: `websearch_to_tsquery`, which accepts
anything people type (quotes, `-`, `or`, stray `&|!():*<`) without a syntax
error, in the "simple" configuration so that names and other languages are not
stemmed away, ranked with ts_rank. The WHERE clause is written as exactly the
expression migration 0002 indexes, `to_tsvector('simple'::regconfig, body)`:
Django's SearchVector wraps the column in COALESCE(), which PostgreSQL does not
match to the GIN index, so every search would read the whole table.

On SQLite it is a plain fallback: every word must appear (LIKE, escaped by
Django), ranked by how often the words occur, newest first among equals.

Ephemeral rooms keep no history, so they are never searched; rooms the user
left are no longer theirs; the people the user blocks (`hidden`) are not found.
"""
import re

from django.db import connection
from django.db.models import F, Func, IntegerField, Q, Value
from django.db.models.functions import Length, Lower, Replace

from .models import Membership, Message

SEARCH_CONFIG = "simple"
MAX_WORDS = 10
WORD = re.compile(r"\w+")


class BodyVector(Func):
    """to_tsvector('simple'::regconfig, body): the indexed expression, character for character."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"

    def __init__(self):
        from django.contrib.postgres.search import SearchVectorField

        super().__init__(F("body"), output_field=SearchVectorField())


def search_messages(*, user, query: str, room=None, limit: int = 50, hidden=()) -> list[Message]:
    """Return up to `limit` of the user's messages matching `query`, best first; none by `hidden` authors."""
    found = matching(user=user, query=query, room=room, vendor=connection.vendor, hidden=hidden)
    return [] if found is None else list(found[:limit])


def matching(*, user, query: str, room=None, vendor: str, hidden=()):
    """Return the user's messages matching `query` as a QuerySet, best first; None if it has no words."""
    rooms = Membership.objects.filter(user=user, room__is_ephemeral=False).values("room_id")
    messages = Message.objects.filter(room_id__in=rooms).not_by(hidden).with_refs()
    if room is not None:
        messages = messages.filter(room=room)
    if vendor == "postgresql":
        return _full_text(messages, query)
    return _fallback(messages, query)


def _full_text(messages, query):
    from django.contrib.postgres.search import SearchQuery, SearchRank

    vector = BodyVector()
    terms = SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
    return (
        messages.alias(document=vector)
        .filter(document=terms)
        .annotate(rank=SearchRank(vector, terms))
        .order_by(F("rank").desc(), "-id")
    )


def _fallback(messages, query):
    # The same words PostgreSQL's parser would find; punctuation alone finds nothing.
    words = list(dict.fromkeys(word.lower() for word in WORD.findall(query)))[:MAX_WORDS]
    if not words:
        return None
    body = Lower("body")
    condition = Q()
    rank = Value(0, output_field=IntegerField())
    for word in words:
        condition &= Q(body__icontains=word)
        # Occurrences of the word: how much shorter the body gets without it.
        word_value = Lower(Value(word))
        rank = rank + (Length(body) - Length(Replace(body, word_value, Value("")))) / Length(word_value)
    return messages.filter(condition).annotate(rank=rank).order_by(F("rank").desc(), "-id")
