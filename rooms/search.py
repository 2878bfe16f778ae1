"""Message search over the rooms a user is a member of: words, typed filters, two orders, pages.

What is searched is a message's plain text (`Message.text`, its Markdown
rendered to text), not its Markdown source: `**deploy**` is found as "deploy",
a link by its words, not by its brackets.

On PostgreSQL this is full-text search. Each message's vector is stored, a
generated column (`search_vector`, migration 0011: PostgreSQL computes it when
the row is written, so no writer has to) in the language PARLEY_SEARCH_LANGUAGE
names ("english": "Deploying" finds "deploy"), and GIN-indexed. Its
configuration is Parley's copy of the language's, `parley_<language>`, whose
snowball stemmer has no stop-word list: PostgreSQL's `english` drops "the",
"after", "not", "when", and in short chat messages those are often the words
looked for. A language with no such stemmer (`simple`) is used as is. The query
is `websearch_to_tsquery`, which accepts anything people type (quotes, `-`,
`or`, stray `&|!():*<`) without a syntax error. The query is always built with
the configuration the column was built with, read from the catalogue: after
PARLEY_SEARCH_LANGUAGE changes, search keeps working in the old language (with
a warning in the log and from `manage.py check --database default`) until
`manage.py search_rebuild` rebuilds the column.

On SQLite it is a plain fallback with the same filters and orders: every word
must appear (LIKE, escaped by Django; no stemming), ranked by how often the
words occur.

Orders. `newest` (the default, as Slack's and Zulip's): newest first (by
created_at, then id), pages by position, exact at any depth. It stays fast
however many messages match: the database walks the index on (created_at, id)
backwards, from the date a `before:` names if any, and stops at the page's end;
or, for a rare word, takes the few matches from the GIN index and sorts them. `relevance`: the newest
RELEVANCE_WINDOW matches, best ranked first (ts_rank over the stored vector; on
SQLite, occurrences), pages by offset within them. Ranking every match is what
made a common word in a room of 200,000 messages take two seconds; in a chat,
a match from last week is worth more than a better one from three years ago.

Filters are typed in the query (parse()): from:, in:, before:, after:, on:,
has:file|link|image, is:mention. Ephemeral rooms keep no history, so they are
never searched; rooms the user left are no longer theirs; the people the user
blocks (`hidden`) are not found.
"""
import datetime
import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, FloatField, IntegerField, OuterRef, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length, Lower, Replace
from django.utils import timezone

from users.models import User

from .models import Membership, Mention, Message, Upload

logger = logging.getLogger(__name__)

MAX_WORDS = 10
WORD = re.compile(r"\w+")
# How many of the newest matches `relevance` ranks.
RELEVANCE_WINDOW = 1000
ORDERS = ("newest", "relevance")
VECTOR_COLUMN = "search_vector"
VECTOR_INDEX = "message_search_vector"
VECTOR_STATISTICS = 1000  # as migration 0011 sets it: why, there
# A filter is `key:value`, the value a word or "quoted words"; other `x:y` are plain words.
FILTER = re.compile(r'(?<!\S)(from|in|before|after|on|has|is):("[^"]*"|\S+)', re.IGNORECASE)
HAS = {"file", "link", "image"}
IS = {"mention"}


class BadQuery(ValueError):
    """The query has a filter that cannot be read (a bad date, an unknown has:); `field` names it."""

    def __init__(self, message, field="q"):
        super().__init__(message)
        self.field = field


@dataclass
class Query:
    """A query read: its words, and its filters (each list ORed, the filters ANDed)."""

    words: str = ""
    authors: list = field(default_factory=list)
    rooms: list = field(default_factory=list)
    since: datetime.datetime | None = None  # created at or after
    until: datetime.datetime | None = None  # created before
    has: set = field(default_factory=set)
    mention: bool = False

    @property
    def has_words(self):
        return bool(WORD.search(self.words))

    @property
    def has_filters(self):
        return bool(self.authors or self.rooms or self.since or self.until or self.has or self.mention)


def parse(text: str) -> Query:
    """Read the filters out of `text`; what is left is the words. Raise BadQuery for a filter it cannot read."""
    query = Query()
    for match in FILTER.finditer(text):
        key, value = match.group(1).lower(), match.group(2).strip('"').strip()
        if key == "from":
            query.authors.append(value)
        elif key == "in":
            query.rooms.append(value.lstrip("#").lower())
        elif key in ("before", "after", "on"):
            day = _date(key, value)
            start = datetime.datetime.combine(day, datetime.time(), tzinfo=timezone.get_current_timezone())
            try:
                end = start + datetime.timedelta(days=1)
            except OverflowError:
                raise BadQuery(f"{key}: {value} is out of range.") from None
            if key in ("before", "on"):  # before: the day itself excluded, as Slack does
                bound = start if key == "before" else end
                query.until = bound if query.until is None else min(query.until, bound)
            if key in ("after", "on"):  # after: the day itself excluded
                bound = end if key == "after" else start
                query.since = bound if query.since is None else max(query.since, bound)
        elif key == "has":
            if value.lower() not in HAS:
                raise BadQuery(f"has: takes {', '.join(sorted(HAS))}, not {value!r}.")
            query.has.add(value.lower())
        elif key == "is":
            if value.lower() not in IS:
                raise BadQuery(f"is: takes mention, not {value!r}.")
            query.mention = True
    query.words = " ".join(FILTER.sub(" ", text).split())
    return query


def _date(key, value):
    try:
        day = datetime.date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
    except ValueError:
        day = None
    if day is None:
        raise BadQuery(f"{key}: takes a date as YYYY-MM-DD, e.g. {key}:2026-01-31; {value!r} is not one.")
    return day


@dataclass
class Page:
    messages: list
    next: str | None  # the `page` that continues, None at the end


def search(*, user, text: str, room=None, order: str = "newest", page: str | None = None,
           limit: int = 50, hidden=()) -> Page:
    """Return a page of the user's messages matching `text` (words and filters), in `order`.

    Raise BadQuery for a filter or a `page` that cannot be read.
    """
    query = parse(text)
    found = matching(user=user, query=query, room=room, hidden=hidden)
    if found is None:
        return Page([], None)
    if order == "relevance" and query.has_words:
        return _ranked_page(found, _rank(query.words), page, limit)
    newest = ("-created_at", "-id")
    after = _page_position(page)
    if after is not None:  # the messages after the last one shown, in this order
        created_at, message_id = after
        found = found.filter(created_at__lte=created_at).filter(
            Q(created_at__lt=created_at) | Q(id__lt=message_id))
    rows = list(found.with_refs().order_by(*newest)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _position_page(rows[-1]) if more else None)


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MICROSECOND = datetime.timedelta(microseconds=1)


def _position_page(message):
    return f"b{(message.created_at - EPOCH) // MICROSECOND}.{message.id}"


def _page_position(page):
    """The (created_at, id) a `newest` page continues after."""
    if not page:
        return None
    stamp, _, message_id = page[1:].partition(".")
    if page[0] != "b" or not (stamp.isdigit() and message_id.isdigit() and stamp.isascii() and message_id.isascii()) \
            or len(page) > 40:
        raise BadQuery("That is not a page of this search: use the `next` of its last answer.", "page")
    try:
        created_at = EPOCH + int(stamp) * MICROSECOND
    except OverflowError:
        raise BadQuery("That is not a page of this search: use the `next` of its last answer.", "page") from None
    return created_at, int(message_id)


def _ranked_page(found, rank, page, limit):
    offset = _page_number(page, "o") or 0
    ranked = list(
        found.annotate(rank=rank).order_by("-created_at", "-id").values_list("id", "rank")[:RELEVANCE_WINDOW]
    )
    ranked.sort(key=lambda row: (-row[1], -row[0]))
    ids = [row[0] for row in ranked[offset: offset + limit + 1]]
    more = len(ids) > limit
    ids = ids[:limit]
    by_id = Message.objects.with_refs().in_bulk(ids)
    return Page([by_id[i] for i in ids if i in by_id], f"o{offset + limit}" if more else None)


def _page_number(page, kind):
    if not page:
        return None
    if page[0] != kind or not page[1:].isascii() or not page[1:].isdigit() or len(page) > 19:
        raise BadQuery("That is not a page of this search: use the `next` of its last answer.", "page")
    return int(page[1:])


def search_messages(*, user, query: str, room=None, limit: int = 50, hidden=()) -> list[Message]:
    """Return up to `limit` of the user's messages matching `query`, best ranked first (the assistant's search)."""
    try:
        return search(user=user, text=query, room=room, order="relevance", limit=limit, hidden=hidden).messages
    except BadQuery:
        return []


def matching(*, user, query: Query, room=None, hidden=()):
    """Return the user's messages matching `query` as a QuerySet (unordered); None if it asks for nothing."""
    if not (query.has_words or query.has_filters):
        return None  # punctuation alone finds nothing, rather than everything
    rooms = Membership.objects.filter(user=user, room__is_ephemeral=False)
    if query.rooms:
        rooms = rooms.filter(room__slug__in=query.rooms)
    messages = Message.objects.filter(room_id__in=rooms.values("room_id")).not_by(hidden)
    if room is not None:
        messages = messages.filter(room=room)
    if query.authors:
        messages = messages.filter(author_id__in=authors_named(user, query.authors))
    if query.since:
        messages = messages.filter(created_at__gte=query.since)
    if query.until:
        messages = messages.filter(created_at__lt=query.until)
    if "file" in query.has:
        messages = messages.filter(Exists(Upload.objects.filter(message=OuterRef("pk"))))
    if "image" in query.has:
        messages = messages.filter(
            Exists(Upload.objects.filter(message=OuterRef("pk"), content_type__startswith="image/"))
        )
    if "link" in query.has:
        messages = messages.filter(html__contains="<a ")  # the renderer's links, bare URLs included
    if query.mention:
        messages = messages.filter(
            Q(mentions_everyone=True) | Q(Exists(Mention.objects.filter(message=OuterRef("pk"), user=user)))
        )
    if not query.has_words:
        return messages
    if connection.vendor == "postgresql":
        return messages.filter(_matches(query.words))
    return _fallback(messages, query.words)


def authors_named(user, names) -> list[int]:
    """The ids of the users `from:` names: me, an email, a first name, or a display name (any case)."""
    ids = set()
    wanted = Q(pk__in=[])
    for name in names:
        if name.lower() == "me":
            ids.add(user.id)
        elif "@" in name:
            wanted |= Q(email__iexact=name)
        elif name:
            first, _, last = name.replace("_", " ").replace(".", " ").partition(" ")
            wanted |= Q(first_name__iexact=name) | Q(email__istartswith=f"{name}@")
            if last:
                wanted |= Q(first_name__iexact=first, last_name__iexact=last.strip())
    return sorted(ids | set(User.objects.filter(wanted).values_list("id", flat=True)))


# PostgreSQL ----------------------------------------------------------------------------


def _tsquery_sql():
    return "websearch_to_tsquery(%s::regconfig, %s)"


def _matches(words):
    return RawSQL(
        f'"{Message._meta.db_table}"."{VECTOR_COLUMN}" @@ {_tsquery_sql()}', [vector_config(), words],
        output_field=BooleanField(),
    )


def _rank(words):
    if connection.vendor != "postgresql":
        return _occurrences(words)
    return RawSQL(
        f'ts_rank("{Message._meta.db_table}"."{VECTOR_COLUMN}", {_tsquery_sql()})', [vector_config(), words],
        output_field=FloatField(),
    )


_config = None


def vector_config() -> str:
    """The configuration the stored vectors were built with (read once per process); warn if not the setting's.

    Queries are built with it, whatever the setting says: a query in another
    configuration than the vector's would miss words the two stem differently.
    """
    global _config
    if _config is None:
        _config = stored_config(connection) or config_for(connection, settings.PARLEY_SEARCH_LANGUAGE)
        stored = language_of(_config)
        if stored != settings.PARLEY_SEARCH_LANGUAGE:
            logger.warning(
                "PARLEY_SEARCH_LANGUAGE is %r but the stored search vectors are %r: searching in %r until "
                "`python manage.py search_rebuild` rebuilds them", settings.PARLEY_SEARCH_LANGUAGE, stored, stored,
            )
    return _config


def stored_config(db) -> str | None:
    """The configuration of the `search_vector` column's expression (e.g. parley_english), None without the column."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a"
            " ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
            " WHERE d.adrelid = %s::regclass AND a.attname = %s",
            [Message._meta.db_table, VECTOR_COLUMN],
        )
        row = cursor.fetchone()
    found = re.search(r"'([^']+)'::regconfig", row[0]) if row else None
    return found.group(1) if found else None


def stored_language(db) -> str | None:
    """The language (the PARLEY_SEARCH_LANGUAGE) the stored vectors were built for, None without the column."""
    config = stored_config(db)
    return language_of(config) if config else None


def language_of(config: str) -> str:
    name = config.rpartition(".")[2].strip('"')
    return name.removeprefix(CONFIG_PREFIX)


def language_known(db, name) -> bool:
    with db.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [name])
        return cursor.fetchone() is not None


# Parley's own configurations: the language's, but stemming without its stop-word list.
# PostgreSQL's `english` drops "the", "after", "not", "when"...: a search for them found
# nothing, and chat messages are short enough that such words are often what is looked for.
CONFIG_PREFIX = "parley_"
HERE = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"  # where CREATE puts them


def config_for(db, language: str) -> str:
    """The configuration vectors in `language` are built with: Parley's copy if the language stems with a
    snowball dictionary that has stop words (english, french, ...), else the language's own (simple, ...).

    Reads the catalogue only; ensure_config() creates the copy.
    """
    with db.cursor() as cursor:
        return CONFIG_PREFIX + language if _stop_word_stemmers(cursor, language) else language


def ensure_config(db, language: str) -> str:
    """Create Parley's configuration for `language` if it needs one and it does not exist yet; return config_for()."""
    _check_name(language)
    with db.cursor() as cursor:
        stemmers = _stop_word_stemmers(cursor, language)
        if not stemmers:
            return language
        config = CONFIG_PREFIX + language
        for dictionary, snowball_language in stemmers:
            cursor.execute("SELECT 1 FROM pg_ts_dict WHERE dictname = %s AND dictnamespace = "
                           f"{HERE}", [CONFIG_PREFIX + dictionary])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE TEXT SEARCH DICTIONARY "{CONFIG_PREFIX}{dictionary}" '
                               f"(TEMPLATE = snowball, Language = '{snowball_language}')")
        cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s AND cfgnamespace = "
                       f"{HERE}", [config])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE TEXT SEARCH CONFIGURATION "{config}" (COPY = "{language}")')
            for dictionary, _ in stemmers:
                cursor.execute(f'ALTER TEXT SEARCH CONFIGURATION "{config}" '
                               f'ALTER MAPPING REPLACE "{dictionary}" WITH "{CONFIG_PREFIX}{dictionary}"')
        return config


def drop_configs(db) -> None:
    """Drop Parley's configurations and dictionaries (no column may still use them)."""
    with db.cursor() as cursor:
        for kind, catalogue, name, namespace in (("CONFIGURATION", "pg_ts_config", "cfgname", "cfgnamespace"),
                                                 ("DICTIONARY", "pg_ts_dict", "dictname", "dictnamespace")):
            cursor.execute(f"SELECT {name} FROM {catalogue} WHERE {name} LIKE %s AND {namespace} = {HERE}",
                           [CONFIG_PREFIX.replace("_", r"\_") + "%"])
            for (found,) in cursor.fetchall():
                cursor.execute(f'DROP TEXT SEARCH {kind} "{found}"')


def _stop_word_stemmers(cursor, language):
    """The snowball dictionaries `language` maps words to that have a stop-word list, with their snowball language."""
    _check_name(language)
    cursor.execute(
        "SELECT DISTINCT d.dictname, d.dictinitoption FROM pg_ts_config_map m"
        " JOIN pg_ts_dict d ON d.oid = m.mapdict JOIN pg_ts_template t ON t.oid = d.dicttemplate"
        " WHERE m.mapcfg = %s::regconfig AND t.tmplname = 'snowball' ORDER BY 1",
        [language],
    )
    stemmers = []
    for dictionary, options in cursor.fetchall():
        if not re.search(r"\bstopwords\s*=", options or "", re.IGNORECASE):
            continue
        snowball = re.search(r"\blanguage\s*=\s*'([^']+)'", options, re.IGNORECASE)
        if snowball and re.fullmatch(r"[a-z_]+", snowball.group(1)) and re.fullmatch(r"\w+", dictionary):
            stemmers.append((dictionary, snowball.group(1)))
    return stemmers


def _check_name(language):
    if not (language.replace("_", "a").isalnum() and language.isascii()):
        raise ValueError(f"not a configuration name: {language!r}")


def vector_rebuild(*, language: str, db=connection) -> None:
    """Build the stored vectors again in `language` (PostgreSQL): the column and its index, in one transaction.

    The table is rewritten under an exclusive lock: posting waits until it is
    done (about half a minute for a million messages).
    """
    global _config
    table = Message._meta.db_table
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        config = ensure_config(db, language)
        cursor.execute(f'DROP INDEX IF EXISTS "{VECTOR_INDEX}"')
        cursor.execute(f'ALTER TABLE "{table}" DROP COLUMN IF EXISTS "{VECTOR_COLUMN}"')
        cursor.execute(vector_column_sql(table, config))
        cursor.execute(f'CREATE INDEX "{VECTOR_INDEX}" ON "{table}" USING gin ("{VECTOR_COLUMN}")')
        cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{VECTOR_COLUMN}" SET STATISTICS {VECTOR_STATISTICS}')
    with db.cursor() as cursor:
        cursor.execute(f'ANALYZE "{table}"')  # the planner's word counts, for the new column
    _config = None


def vector_column_sql(table, config):
    _check_name(config)
    return (
        f'ALTER TABLE "{table}" ADD COLUMN "{VECTOR_COLUMN}" tsvector GENERATED ALWAYS AS '
        f"(to_tsvector('{config}'::regconfig, text)) STORED"
    )


# SQLite -------------------------------------------------------------------------------


def _words(text):
    # The same words PostgreSQL's parser would find.
    return list(dict.fromkeys(word.lower() for word in WORD.findall(text)))[:MAX_WORDS]


def _fallback(messages, text):
    condition = Q()
    for word in _words(text):
        condition &= Q(text__icontains=word)
    return messages.filter(condition)


def _occurrences(text):
    """How often the words occur in the message: how much shorter its text gets without each."""
    lowered = Lower("text")
    rank = Value(0, output_field=IntegerField())
    for word in _words(text):
        word_value = Lower(Value(word))
        rank = rank + (Length(lowered) - Length(Replace(lowered, word_value, Value("")))) / Length(word_value)
    return rank


# The language, checked -----------------------------------------------------------------


def check_language(app_configs=None, databases=None, **kwargs):
    """System check (run by migrate and `check --database default`): the language exists and the vectors use it."""
    from django.core.checks import Error, Warning
    from django.db import connections

    problems = []
    for alias in databases or ():
        db = connections[alias]
        if db.vendor != "postgresql":
            continue
        language = settings.PARLEY_SEARCH_LANGUAGE
        if not language_known(db, language):
            problems.append(Error(
                f"PARLEY_SEARCH_LANGUAGE={language!r} is not a text search configuration of this PostgreSQL.",
                hint="SELECT cfgname FROM pg_ts_config lists them (english, french, simple, ...).",
                id="rooms.E001",
            ))
            continue
        stored = stored_config(db) if _has_table(db) else None
        wanted = config_for(db, language)
        if stored is not None and stored != wanted:
            problems.append(Warning(
                f"The stored search vectors are {stored!r}, PARLEY_SEARCH_LANGUAGE={language!r} wants {wanted!r}:"
                f" search stays in {stored!r} until they are rebuilt.",
                hint="python manage.py search_rebuild", id="rooms.W001",
            ))
    return problems


def _has_table(db):
    return Message._meta.db_table in db.introspection.table_names()
