"""Writing the assistant's Markdown: references to messages, and quotes that stay quotes.

A quote is someone else's text put into the assistant's message, so it must
not act there: `@**all**` in a quoted message would mention everyone again,
and a code fence would swallow the rest of the answer. Quotes are one line,
with mentions turned into bold names and code fences dropped.
"""
import re

from .context import AskerContext, Record

MAX_QUOTE = 200
MENTION = re.compile(r"@\*\*([^*]+)\*\*")
FENCE = re.compile(r"`{2,}|~{3,}")
SPACE = re.compile(r"\s+")


def quote(text: str, limit: int = MAX_QUOTE) -> str:
    """Return `text` as one inert line of at most `limit` characters."""
    text = MENTION.sub(r"**@\1**", text or "")
    text = SPACE.sub(" ", FENCE.sub(" ", text)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def room_label(record: Record) -> str:
    return f"#{record.room_name}"


def reference(record: Record, context: AskerContext) -> str:
    """Return a link to the message when the caller can make one, else its plain reference."""
    url = context.message_url(record)
    return f"[#{record.id}]({url})" if url else f"#message-{record.id}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
