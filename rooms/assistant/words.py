"""Words, stems and sentences: the small text handling every skill shares.

Stopwords are scikit-learn's English list (the Glasgow list, ~320 words) plus
the words people use to ask a chat assistant something ("where did we talk
about", "find", "messages"), which say what to do, not what to look for.
Stems are Snowball's English (Porter 2) stemmer, so "deploys" and "deployed"
count as one word when sentences are scored.
"""
import re
from functools import cache, lru_cache

import snowballstemmer

# The longest question the assistant reads; the chat's limit is 4000 characters.
MAX_QUESTION_CHARS = 1000
MAX_KEYWORDS = 6

WORD = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?")
# A leading @-mention of the assistant (or anyone): "@**Assistant** what did I miss?".
LEADING_MENTIONS = re.compile(r"^(?:\s*@\*\*[^*]+\*\*[\s,:;-]*)+")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'“(\[]?[A-Z0-9@#*])|\n+")

ASKING_WORDS = frozenset("""
    assistant bot hey hi please pls thanks thank ok okay
    find search look looking lookup locate dig grep show tell give list fetch get
    message messages msg msgs chat chats thread threads conversation conversations discussion discussions
    talk talked talking talks say said saying says mention mentioned mentioning mentions
    discuss discussed discussing wrote write written post posted posting share shared sharing
    decide decided decision
    where when who whom whose what which why how did does do was were is are has have had
    anyone anybody someone somebody people everyone we us our i me my you your
    room rooms channel channels about regarding re concerning related
    something anything thing things stuff remember recall
""".split())


@cache
def stopwords() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # see answers.py: scikit-learn loads on first use

    return frozenset(ENGLISH_STOP_WORDS) | ASKING_WORDS

_stemmer = snowballstemmer.stemmer("english")


def clean_question(text: str) -> str:
    """Return the question without leading mentions, surrounding space, or anything past the length we read."""
    text = (text or "")[:MAX_QUESTION_CHARS]
    return LEADING_MENTIONS.sub("", text).strip()


def words(text: str) -> list[str]:
    """Return the words of `text`, lowercased, in order."""
    return [word.lower().replace("’", "'") for word in WORD.findall(text)]


@lru_cache(maxsize=4096)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def content_stems(text: str) -> list[str]:
    """Return the stems of the words that carry meaning (stopwords and one-letter words dropped)."""
    return [stem(word) for word in words(text) if word not in stopwords() and len(word) > 1]


def keywords(question: str, limit: int = MAX_KEYWORDS) -> list[str]:
    """Return what to look for in `question`: its content words as typed, lowercased, once each (one per stem).

    Searched words stay as typed: search stems them itself on PostgreSQL (in
    PARLEY_SEARCH_LANGUAGE), and SQLite matches them as substrings.
    """
    found, seen = [], set()
    for word in words(question):
        word = word.strip("'.-")
        if word in stopwords() or not 2 <= len(word) <= 30 or word.isdigit() and len(word) < 3:
            continue
        root = stem(word)
        if root in seen:
            continue
        seen.add(root)
        found.append(word)
    return found[:limit]


def sentences(text: str) -> list[str]:
    """Split a message into sentences (and lines: chat messages are often a list of lines)."""
    parts = (part.strip(" \t-*•>") for part in SENTENCE_END.split(text or ""))
    return [part for part in parts if part]
