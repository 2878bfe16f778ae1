"""Extractive summaries: who said what among the asker's unread messages.

Sentences are scored TextRank-style: TF-IDF vectors of their stems, cosine
similarity between every pair, PageRank over that graph. A sentence many
others echo is central to the discussion; one that shares nothing ("ok",
"lol") scores nothing. Then every author's best sentence is taken (so the
summary says who said what, not only what the loudest said), then the best
of the rest, within a bound on sentences and characters.

Our own thirty lines on top of scikit-learn's TF-IDF rather than sumy: sumy
tokenises with NLTK's punkt, whose data is a download at run time, and it
knows nothing of authors, so grouping and links would be ours anyway.
"""
from dataclasses import dataclass

from .context import AskerContext, Record
from .replies import plural, quote, reference, room_label
from .words import content_stems, sentences

MAX_MESSAGES = 300  # the newest read; more are counted, not read
MAX_SENTENCES_PER_MESSAGE = 8
MAX_PICKED = 8
MAX_CHARS = 1800
MIN_CONTENT_WORDS = 2


@dataclass(frozen=True)
class Candidate:
    record: Record
    position: int  # order in the conversation
    text: str


def candidates(records: list[Record]) -> list[Candidate]:
    found = []
    for record in records:
        for text in sentences(record.text)[:MAX_SENTENCES_PER_MESSAGE]:
            found.append(Candidate(record, len(found), text))
    return found


def textrank(texts: list[str], damping: float = 0.85, rounds: int = 40):
    """Return a centrality score per text (a NumPy array); texts with too few content words score 0."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small matrices: BLAS threads only wait for each other
        return _textrank(texts, damping, rounds)


def _textrank(texts: list[str], damping: float, rounds: int):
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    informative = np.array([len(set(content_stems(text))) >= MIN_CONTENT_WORDS for text in texts])
    if not informative.any():
        return np.zeros(len(texts))
    vectorizer = TfidfVectorizer(analyzer=content_stems, sublinear_tf=True)
    try:
        vectors = vectorizer.fit_transform(texts)
    except ValueError:  # no content word at all
        return np.zeros(len(texts))
    similarity = (vectors @ vectors.T).toarray()
    np.fill_diagonal(similarity, 0.0)
    similarity[~informative, :] = 0.0
    similarity[:, ~informative] = 0.0
    totals = similarity.sum(axis=1, keepdims=True)
    transition = np.divide(similarity, totals, out=np.zeros_like(similarity), where=totals > 0)
    count = len(texts)
    scores = np.full(count, 1.0 / count)
    for _ in range(rounds):
        scores = (1 - damping) / count + damping * (transition.T @ scores)
    # A lone informative sentence (nothing echoes it) still beats "ok".
    return np.where(informative, scores + 1e-6 * informative.sum(), 0.0)


def pick(found: list[Candidate], scores) -> list[Candidate]:
    """Return each author's best sentence, then the best of the rest, within the bounds."""
    order = sorted(range(len(found)), key=lambda index: (-scores[index], index))
    firsts, authors = [], set()
    for index in order:
        author = found[index].record.author_name
        if author not in authors and scores[index] > 0:
            authors.add(author)
            firsts.append(index)
    # About a third of the sentences, at least three, at most MAX_PICKED.
    limit = min(MAX_PICKED, max(3, round(len(found) / 3)))
    chosen, chars = [], 0
    for index in firsts + [index for index in order if index not in firsts]:
        if len(chosen) >= limit:
            break
        if scores[index] <= 0 and chosen:
            continue
        size = len(quote(found[index].text)) + 30
        if chars + size > MAX_CHARS and chosen:
            continue
        chosen.append(index)
        chars += size
    return [found[index] for index in sorted(chosen)]


def summary_write(records: list[Record], context: AskerContext) -> tuple[str, tuple[int, ...]]:
    """Return the summary of `records` in Markdown, and the ids of the messages it quotes."""
    if not records:
        where = f" in #{context.room.name}" if context.room else ""
        return f"Nothing new{where}: you're all caught up. ✨", ()
    total = len(records)
    records = sorted(records, key=lambda record: (record.created_at, record.id))[-MAX_MESSAGES:]
    found = candidates(records)
    picked = pick(found, textrank([candidate.text for candidate in found])) if found else []
    rooms = {record.room_slug for record in records}
    authors = list(dict.fromkeys(record.author_name for record in records))
    counts = {author: sum(record.author_name == author for record in records) for author in authors}

    where = f"#{context.room.name}" if context.room and rooms == {context.room.slug} else plural(len(rooms), "room")
    people = plural(len(authors), "person").replace("persons", "people")
    lines = [f"**What you missed: {plural(total, 'message')} in {where} from {people}.**"]
    if total > len(records):
        lines.append(f"_(I read the newest {len(records)}.)_")
    said = {author: [] for author in authors}
    for candidate in picked:
        said[candidate.record.author_name].append(candidate)
    quiet = []
    for author in authors:
        if not said[author]:
            quiet.append(f"**{quote(author, 60)}** ({counts[author]})")
            continue
        quotes = []
        for record, texts in _by_message(said[author]):
            where = f" in {room_label(record)}" if len(rooms) > 1 else ""
            quotes.append(" … ".join(quote(text) for text in texts) + f" ({reference(record, context)}{where})")
        lines.append(f"- **{quote(author, 60)}** ({counts[author]}): " + " · ".join(quotes))
    if quiet:
        lines.append("- Also: " + ", ".join(quiet) + ".")
    sources = tuple(dict.fromkeys(candidate.record.id for candidate in picked))
    return "\n".join(lines), sources


def _by_message(picked: list[Candidate]) -> list[tuple[Record, list[str]]]:
    """Group an author's picked sentences by message, in order, so that each message is linked once."""
    grouped: dict[int, tuple[Record, list[str]]] = {}
    for candidate in picked:
        grouped.setdefault(candidate.record.id, (candidate.record, []))[1].append(candidate.text)
    return list(grouped.values())
