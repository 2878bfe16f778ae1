"""Finding: "where did we talk about the release date?" into words, a search, and quotes.

The search itself is the caller's (rooms/search.py's ranking, limited to
what the asker may read); this module only decides what to ask it. Search
wants every word in a message, so when the question's words together find
nothing, each word is searched alone and messages are ranked by how many of
the words they hold: "what did Tom say about the migration" still finds the
migration when Tom is the author rather than a word of the message.
"""
from .context import AskerContext, Record
from .replies import quote, reference, room_label
from .words import keywords

MAX_RESULTS = 5
RELAXED_WORDS = 4


def find_records(words: list[str], context: AskerContext, limit: int = MAX_RESULTS) -> list[Record]:
    """Return up to `limit` messages for `words`, best first, all of them from `context.search`."""
    found = [Record.coerce(record) for record in context.search(list(words), limit)]
    if found or len(words) < 2:
        return found[:limit]
    hits: dict[int, list] = {}
    for rank_of_word, word in enumerate(words[:RELAXED_WORDS]):
        for rank, record in enumerate(context.search([word], limit)):
            record = Record.coerce(record)
            entry = hits.setdefault(record.id, [record, 0, rank_of_word * limit + rank])
            entry[1] += 1
    ranked = sorted(hits.values(), key=lambda entry: (-entry[1], entry[2]))
    return [entry[0] for entry in ranked[:limit]]


def find_write(records: list[Record], words: list[str], context: AskerContext) -> str:
    """Return the quotes of `records` in Markdown."""
    looked_for = " ".join(f"*{quote(word, 40)}*" for word in words)
    if not records:
        return f"I found nothing about {looked_for} in the rooms you can read."
    lines = [f"Here is what I found about {looked_for}:"]
    for record in records:
        when = record.created_at.strftime("%-d %b %H:%M")
        lines.append(
            f"- **{quote(record.author_name, 60)}** in {room_label(record)}, {when} "
            f"({reference(record, context)}): {quote(record.text)}"
        )
    return "\n".join(lines)


def find_words(question: str) -> list[str]:
    return keywords(question)
