"""The plain data the assistant takes and gives back.

The assistant reaches messages only through the AskerContext the caller hands
it: `unread()` and `search()` are the caller's, already limited to what the
asker may read at the moment of asking. Nothing in this package imports a
model or opens a database; it cannot see a message nobody handed it.
"""
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Record:
    """One message, as the assistant sees it."""

    id: int
    room_slug: str
    room_name: str
    author_name: str
    text: str
    created_at: datetime

    @classmethod
    def coerce(cls, value: "Record | Mapping") -> "Record":
        """Return `value` as a Record (the caller may hand dicts with the same keys)."""
        if isinstance(value, Record):
            return value
        return cls(**{name: value[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RoomRef:
    slug: str
    name: str


@dataclass(frozen=True)
class AskerContext:
    """What the assistant may know about the asker, all of it supplied by the caller.

    `room` is where the question was asked, None in a direct message with the
    assistant. `unread()` returns the asker's unread messages there (or the
    last 24 hours', as the caller decides), oldest first. `search(words,
    limit)` returns up to `limit` messages the asker may read that contain all
    of `words`, best first. `message_url(record)` returns an absolute link to a
    message, or None to write plain references (the chat renders relative
    links as text).
    """

    name: str
    room: RoomRef | None
    unread: Callable[[], Sequence["Record | Mapping"]]
    search: Callable[[Sequence[str], int], Sequence["Record | Mapping"]]
    message_url: Callable[[Record], str | None] = field(default=lambda record: None)


@dataclass(frozen=True)
class Reminder:
    due_at: datetime  # aware, in the asker's time zone
    text: str


@dataclass(frozen=True)
class Reply:
    """The assistant's answer: Markdown for the chat, and what it understood.

    `sources` are the ids of the messages the answer quotes, every one of them
    a message the context handed over; `by_llm` tells whether a language model
    wrote the text.
    """

    text: str
    intent: str
    reminder: Reminder | None = None
    sources: tuple[int, ...] = ()
    by_llm: bool = False
