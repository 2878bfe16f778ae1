"""The assistant's one entry point: a question in, a Reply out.

The intent classifier picks the skill; when it is unsure (below
CONFIDENT), a question with content words is treated as something to find,
as the contract says ("a question or `find <words>`"), and anything else gets
a pointer to `help`. Each skill asks the context only for what it needs:
help, small talk and reminders touch no message at all.

Importing the package is cheap: scikit-learn, NumPy and dateparser (about
1.5 s and 120 MB together) load on first use, so a module that only names
these types costs nothing. The assistant's own process calls warm() once at
start, so that no asker waits for them.
"""
import logging
import re
from datetime import datetime, timezone, tzinfo

from .context import AskerContext, Record, Reply
from .finding import find_records, find_words, find_write
from .intents import classify, model
from .llm import LLMConfig, LLMError, llm_write
from .reminders import ReminderProblem, reminder_confirmation, reminder_parse
from .summary import summary_write, textrank
from .words import clean_question

logger = logging.getLogger(__name__)

CONFIDENT = 0.4  # five intents: 0.2 is a blind guess
# A word as people write them: letters, and not a 4,000-character run of one key.
REAL_WORD = re.compile(r"(?<!\w)(?=\w*[^\W\d_])\w{1,30}(?!\w)")

HELP = """I'm Parley's assistant. Ask me in your own words, here in a DM or by mentioning me in a room:
- **What did I miss?** — a summary of your unread messages, who said what, with links (also "summarise today").
- **Where did we talk about the release date?** — the most relevant messages from rooms you can read (also "find deploy logs").
- **Remind me tomorrow at 9 to send the report** — I'll DM you then ("in 2 hours", "at 17:30", "on Friday" work too).
- **help** — this message.
I only ever see what you can read yourself."""

NOT_UNDERSTOOD = "Sorry, I didn't get that. Try **what did I miss?**, **find** *some words*, or **help**."


def answer(question: str, *, asker: AskerContext, now: datetime, tz: tzinfo = timezone.utc,
           llm: LLMConfig | None = None) -> Reply:
    """Return the assistant's reply to `question`, asked by `asker` at `now` (aware; naive means UTC) in zone `tz`."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    text = clean_question(question)
    if not REAL_WORD.search(text):
        return Reply(text=NOT_UNDERSTOOD, intent="unknown")
    intent = classify(text)
    name = intent.name
    if intent.confidence < CONFIDENT:
        name = "find" if find_words(text) else "unknown"
    if name == "help":
        return Reply(text=HELP, intent="help")
    if name == "summary":
        return _summary(text, asker, llm)
    if name == "find":
        return _find(text, asker, llm)
    if name == "remind":
        return _remind(text, now, tz)
    if name == "smalltalk":
        return Reply(text=_smalltalk(text, asker), intent="smalltalk")
    return Reply(text=NOT_UNDERSTOOD, intent="unknown")


def _by_llm(llm, task, text, records, asker, intent) -> Reply | None:
    """The model's answer from exactly these records, or None (no model, nothing retrieved, or it failed)."""
    if not records or llm is None:
        return None
    try:
        written, cited = llm_write(llm, task=task, question=text, records=records, context=asker)
    except LLMError as error:
        logger.warning("assistant: the language model failed, answering without it: %s", error)
        return None
    return Reply(text=written, intent=intent, sources=cited, by_llm=True)


def _summary(text: str, asker: AskerContext, llm: LLMConfig | None) -> Reply:
    records = [Record.coerce(record) for record in asker.unread()]
    by_llm = _by_llm(llm, "Summarise these unread chat messages by who said what.", text, records, asker, "summary")
    if by_llm is not None:
        return by_llm
    written, sources = summary_write(records, asker)
    return Reply(text=written, intent="summary", sources=sources)


def _find(text: str, asker: AskerContext, llm: LLMConfig | None) -> Reply:
    words = find_words(text)
    if not words:
        return Reply(text="What should I look for? Try **find** *release date*.", intent="find")
    records = find_records(words, asker)
    by_llm = _by_llm(llm, "Answer the question from these chat messages.", text, records, asker, "find")
    if by_llm is not None:
        return by_llm
    return Reply(text=find_write(records, words, asker), intent="find", sources=tuple(r.id for r in records))


def _remind(text: str, now: datetime, tz: tzinfo) -> Reply:
    try:
        reminder = reminder_parse(text, now=now, tz=tz)
    except ReminderProblem as problem:
        return Reply(text=str(problem), intent="remind")
    return Reply(text=reminder_confirmation(reminder), intent="remind", reminder=reminder)


def _smalltalk(text: str, asker: AskerContext) -> str:
    lowered = text.lower()
    if re.search(r"\b(thanks?|thx|ty|cheers|appreciate)", lowered):
        return "You're welcome! 🙂"
    if re.search(r"\b(bye|goodbye|good night|see you|later)\b", lowered):
        return "Bye! 👋"
    if re.search(r"\b(who|what) are you\b|\b(bot|robot|human|your name)\b", lowered):
        return "I'm Parley's assistant: a small program on this server, no one is reading along. Say **help** to see what I can do."
    return f"Hi {asker.name}! 👋 Ask me **what did I miss?**, or say **help** to see what I can do."


def warm() -> None:
    """Load what the first answer would otherwise wait for: the classifier, dateparser's data, the scorer."""
    model()
    reminder_parse("remind me tomorrow at 9 to warm up", now=datetime.now(timezone.utc))
    textrank(["the release is on friday", "friday works for the release"])
