"""Reminders: "remind me tomorrow at 9 to send the report" into a time and a text.

dateparser finds and reads the time expression: it is maintained (releases
through 2026), reads relative expressions ("in 2 hours", "next monday at
10am", "tomorrow morning") against a base time we give it, and its
`search_dates` finds the expression anywhere in the sentence, so "remind me
to call Bob at 17:30" works as well as "remind me at 17:30 to call Bob".
parsedatetime does much the same but has had no release since 2020.

Before dateparser sees the text we spell out what it reads wrongly: a bare
hour ("at 9" is September to it), "half an hour", "2h". Times are computed
in the asker's wall-clock time (`now` in their zone), then given that zone.
"""
import re
from datetime import datetime, timedelta, timezone, tzinfo

from .context import Reminder

MAX_AHEAD = timedelta(days=365)
MAX_TEXT = 500
DEFAULT_HOUR = 9  # "on Friday" means Friday morning, not midnight

LEAD = re.compile(
    r"""^\W*(?:(?:hey|ok|okay|please|pls|kindly|can\s+you|could\s+you|would\s+you|will\s+you)\W+)*
    (?:remind(?:er)?s?|ping|nudge|notify|alert|tell|
       set\s+(?:up\s+)?(?:a\s+|an\s+|me\s+a\s+)?(?:reminder|alarm|alert)|
       don'?t\s+let\s+me\s+forget|make\s+sure\s+i\s+remember|remember)\b
    (?:\s+(?:me|us|everyone|the\s+team))?[\s:,-]*""",
    re.IGNORECASE | re.VERBOSE,
)
SPELLED = [
    (re.compile(r"\bhalf\s+an?\s+hour\b", re.I), "30 minutes"),
    (re.compile(r"\ban?\s+quarter\s+of\s+an\s+hour\b", re.I), "15 minutes"),
    (re.compile(r"\b(\d+)\s*h(?:rs?)?\b", re.I), r"\1 hours"),
    (re.compile(r"\b(\d+)\s*m(?:ins?)?\b", re.I), r"\1 minutes"),
    # "in 2 hours: stretch": a colon and a space end the time, and stop dateparser from finding it.
    (re.compile(r":\s+"), ", "),
    # "at 9", "at 9 tomorrow": an hour alone is a time of day, not a month or a day.
    (re.compile(r"\b(at|by|around)\s+(\d{1,2})(?![\d:.]|\s*(?:am|pm|a\.m|p\.m|h\b|hours?|minutes?|days?|st|nd|rd|th))",
                re.I), r"\1 \2:00"),
]
TIME_OF_DAY = re.compile(r"\d{1,2}[:.]\d{2}|\d\s*(?:am|pm|a\.m|p\.m)|\b(?:noon|midnight|morning|afternoon|evening|tonight|night)\b"
                         r"|\b(?:hours?|minutes?|seconds?)\b", re.I)
CLOCK_ONLY = re.compile(r"^(?:at|by|around)?\s*(?:\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm)?|noon|midnight)$", re.I)
LOOKS_LIKE_WHEN = re.compile(
    r"\b(?:in|at|on|by|next|this|tomorrow|today|tonight|noon|midnight|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|yesterday|ago|last)|\d[:.]\d|\d\s*(?:am|pm)",
    re.I)
DAY_OF_MONTH = re.compile(r"\b(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)\b(?!\s+of\b)", re.I)
# "chapter 3 in 2 hours": dateparser's span starts with the number, which belongs to the text.
LEADING_NUMBER = re.compile(r"^(\d+)\s+(?=(?:in|at|on)\b)", re.I)
FILLER = re.compile(r"^(?:\W|to\b|that\b|about\b|of\b|for\b|re\b)+|[\s,;:–—-]+$", re.I)


class ReminderProblem(ValueError):
    """The reminder cannot be set; the message says why, for the asker."""


def reminder_parse(question: str, *, now: datetime, tz: tzinfo = timezone.utc) -> Reminder:
    """Return the reminder `question` asks for, due in the asker's zone; raise ReminderProblem if there is none."""
    from dateparser.search import search_dates

    local_now = now.astimezone(tz)
    rest = LEAD.sub("", question.strip(), count=1)
    for pattern, replacement in SPELLED:
        rest = pattern.sub(replacement, rest)
    rest = DAY_OF_MONTH.sub(lambda match: _day_of_month(int(match.group(1)), local_now), rest)
    settings = {
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "RETURN_AS_TIMEZONE_AWARE": False,
        "TIMEZONE": getattr(tz, "key", None) or "UTC",
    }
    try:
        found = search_dates(rest, languages=["en"], settings=settings) or []
    except (ValueError, OverflowError):  # e.g. "in 99999999 years"
        raise ReminderProblem("That date is too far away for me: I can only remind you within a year.") from None
    found = [(span, when) for span, when in found if LOOKS_LIKE_WHEN.search(span)]
    if not found:
        raise ReminderProblem(
            "I couldn't find when to remind you. Try \"remind me in 2 hours to stretch\" "
            "or \"remind me tomorrow at 9 to send the report\"."
        )
    span, when = found[0]
    if not TIME_OF_DAY.search(span) and when.time() == datetime.min.time():
        when = when.replace(hour=DEFAULT_HOUR)
    due = when.replace(tzinfo=tz) if when.tzinfo is None else when.astimezone(tz)
    if due <= local_now and CLOCK_ONLY.match(span.strip()):
        due += timedelta(days=1)  # "at 9" said at 10 means tomorrow's 9
    if due <= local_now:
        raise ReminderProblem(f"{_format(due)} has already passed: I can only remind you of something in the future.")
    if due - local_now > MAX_AHEAD:
        raise ReminderProblem(f"{_format(due)} is more than a year away: I can only remind you within a year.")
    kept = LEADING_NUMBER.match(span)
    text = FILLER.sub("", rest.replace(span, f" {kept.group(1)} " if kept else " ", 1))
    text = re.sub(r"\s{2,}", " ", text).strip()[:MAX_TEXT]
    return Reminder(due_at=due, text=text)


def _day_of_month(day: int, now: datetime) -> str:
    """Spell "the 1st" as the next such day ("on 1 December 2026"), which dateparser reads; left alone if there is none."""
    year, month = now.year, now.month
    for _ in range(13):
        try:
            candidate = now.replace(year=year, month=month, day=day)
        except ValueError:  # no 31st this month
            candidate = None
        if candidate is not None and candidate.date() > now.date():
            return f"on {candidate:%-d %B %Y}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"the {day}th"


def _format(moment: datetime) -> str:
    return moment.strftime("%A %-d %B %Y at %H:%M")


def reminder_confirmation(reminder: Reminder) -> str:
    """Return the assistant's answer to a reminder it set."""
    zone = reminder.due_at.tzname() or "UTC"
    what = f": {reminder.text}" if reminder.text else "."
    return f"⏰ OK, I'll remind you on **{_format(reminder.due_at)}** ({zone}){what}"
