"""Render a message body once, on the server: Markdown in, sanitised HTML and plain text out.

Two well-kept libraries do the work, each for what it is good at:
markdown-it-py parses (CommonMark, plus strikethrough and autolinks through
linkify-it-py; `html=False`, so raw HTML in a body is shown as text), and
nh3 (Ammonia) sanitises what it produced to the contract's allow-list
(docs/API.md, "Rich messages"). Neither is trusted alone: the parser is
configured to emit nothing outside the list, and the sanitiser would remove
it if it did.

Mentions are an inline rule of the parser, not a regular expression over
the output, so `@**Name**` inside a code span or fence is never a mention:
the code rules consume it first. Display names are not unique, so a name
two members share mentions nobody; `@**Name|id**` (what the composer
inserts for such a name) picks one. Names match case-insensitively and
render with the member's own spelling. A name that resolves to no member
stays literal text, so the author sees it was not understood.

Constructs with no tag in the allow-list (headings, rules, images, tables)
are switched off in the parser and so stay literal text, rather than having
their tags stripped and their text run into the next paragraph.

Hostile input is bounded by the parser's nesting limit (markdown-it's
`maxNesting`, 20 in the CommonMark preset): deeper quotes and lists stop
nesting and the rest is text, in time linear in the input.
"""
from __future__ import annotations

import html as html_lib
import re
from collections.abc import Mapping
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.link import link as _link_rule

ALLOWED_TAGS = frozenset({"p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "span"})
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
MENTION_ALL = "all"
# Long enough for first and last name (150 each, users.models.User) and an id.
MAX_MENTION = 320

# Fuzzy links ("example.com", no scheme) only for these endings. linkify-it's
# default takes every two-letter country code too, which turns file names
# such as setup.py, main.rs or notes.md into links in a chat among developers.
FUZZY_TLDS = [
    "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "aero", "coop", "museum",
    "io", "dev", "app", "ai", "co", "me", "tv", "eu", "uk", "de", "fr", "es", "nl", "be", "ch", "at", "se",
    "no", "dk", "fi", "ie", "jp", "cn", "kr", "au", "nz", "ca", "us", "br", "ru", "ua", "ro", "cz", "gr",
]

_MENTION_BOUNDARY = frozenset(" \t\n\r\f\v([{'\"/<>") | {"\u00a0", "\u3000"}


@dataclass(frozen=True, slots=True)
class Rendered:
    """One body rendered: `html` to show, `text` for search and notifications.

    `mentions` are the ids of the members mentioned by name, in order of first
    mention, without repeats; `mention_all` says `@**all**` was used (the
    caller expands it to the room's members, which it knows better).
    """

    html: str
    text: str
    mentions: tuple[int, ...] = ()
    mention_all: bool = False


class _Members:
    """The room's members, looked up as mentions name them: by id, and by case-folded name."""

    def __init__(self, members: Mapping[int, str]):
        self.by_id = members
        by_name: dict[str, list[int]] = {}
        for user_id, name in members.items():
            by_name.setdefault(_fold(name), []).append(user_id)
        self.by_name = by_name

    def resolve(self, written: str) -> int | None:
        """Return the member a mention's text names, or None if it names nobody, or several."""
        name, bar, id_text = written.rpartition("|")
        if bar and id_text.isascii() and id_text.isdigit():
            user_id = int(id_text)
            if user_id in self.by_id and _fold(self.by_id[user_id]) == _fold(name):
                return user_id
            return None
        found = self.by_name.get(_fold(written), ())
        return found[0] if len(found) == 1 else None


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def _mention_rule(state: StateInline, silent: bool) -> bool:
    """`@**Display Name**`, `@**Name|id**` or `@**all**`: a mention token if it resolves, else literal text."""
    src, pos = state.src, state.pos
    if not src.startswith("@**", pos):
        return False
    if pos > 0 and src[pos - 1] not in _MENTION_BOUNDARY:
        return False
    end = src.find("**", pos + 3, pos + 3 + MAX_MENTION + 2)
    if end == -1:
        return False
    written = src[pos + 3:end]
    if not written.strip() or "\n" in written or "*" in written:
        return False
    if not silent:
        members: _Members = state.env["parley_members"]
        if written.strip().casefold() == MENTION_ALL:
            token = state.push("mention", "", 0)
            token.meta = {"user_id": None, "name": MENTION_ALL}
            state.env["parley_mention_all"] = True
        elif (user_id := members.resolve(written)) is not None:
            token = state.push("mention", "", 0)
            token.meta = {"user_id": user_id, "name": members.by_id[user_id]}
            state.env["parley_mentions"].setdefault(user_id, None)
        else:
            token = state.push("text", "", 0)
            token.content = src[pos:end + 2]
    state.pos = end + 2
    return True


def _render_mention(self, tokens, idx, options, env) -> str:
    meta = tokens[idx].meta
    name = html_lib.escape(meta["name"])
    if meta["user_id"] is None:
        return f'<span class="mention">@{name}</span>'
    return f'<span class="mention" data-user-id="{meta["user_id"]}">@{name}</span>'


_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)


def _validate_link(url: str) -> bool:
    """Only absolute http, https and mailto links; anything else stays literal text."""
    scheme = _SCHEME.match(url.strip())
    return bool(scheme) and scheme.group(1).lower() in ALLOWED_SCHEMES


def _bounded_link(state: StateInline, silent: bool) -> bool:
    """markdown-it's link rule, skipped where no `]` follows.

    Without a closing bracket the rule scans to the end of the text for each
    `[`, quadratic in a body of brackets ("[" * 4000 took 70 ms); a search
    in C for the bracket first keeps that linear.
    """
    if state.src.find("]", state.pos + 1) == -1:
        return False
    return _link_rule(state, silent)


def _render_del(self, tokens, idx, options, env) -> str:
    # markdown-it writes ~~text~~ as <s>; the contract's tag is <del>.
    return "<del>" if tokens[idx].nesting == 1 else "</del>"


def _build_parser() -> MarkdownIt:
    # breaks: a newline in a message is a line break, as in every chat (CommonMark would join the lines).
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False, "breaks": True})
    md.enable(["strikethrough", "linkify"])
    md.disable(["heading", "lheading", "hr", "image", "html_block", "html_inline"])
    md.linkify.tlds(FUZZY_TLDS, False)
    md.validateLink = _validate_link
    md.inline.ruler.before("emphasis", "mention", _mention_rule)
    md.inline.ruler.at("link", _bounded_link)
    md.add_render_rule("mention", _render_mention)
    md.add_render_rule("s_open", _render_del)
    md.add_render_rule("s_close", _render_del)
    return md


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # A second line behind the parser: these are the only values the renderer writes.
    if attribute == "href":
        return value if _validate_link(value) else None
    if attribute == "data-user-id":
        return value if value.isascii() and value.isdigit() else None
    return value


_md = _build_parser()
_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(),
    # "*" empty: Ammonia otherwise allows `title` and `lang` on every tag.
    attributes={"*": set(), "a": {"href"}, "span": {"data-user-id"}},
    allowed_classes={"span": {"mention"}},
    attribute_filter=_attribute_filter,
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    url_schemes=set(ALLOWED_SCHEMES),
    strip_comments=True,
)


def render(body: str, *, members: Mapping[int, str]) -> Rendered:
    """Render `body` for a room whose members are `members` (user id -> display name)."""
    body = _storable(body)
    env = {"parley_members": _Members(members), "parley_mentions": {}, "parley_mention_all": False}
    tokens = _md.parse(body, env)
    # No newline after the last block: the client shows the HTML as it is, and a reader of its text would see one.
    html = _cleaner.clean(_md.renderer.render(tokens, _md.options, env)).rstrip("\n")
    return Rendered(
        html=html,
        text=_plain_text(tokens),
        mentions=tuple(env["parley_mentions"]),
        mention_all=env["parley_mention_all"],
    )


def _storable(body: str) -> str:
    """Replace lone surrogates (valid in JSON, not in UTF-8, refused by nh3) with U+FFFD, as markdown-it does NUL."""
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in body)
    return body


_BLOCK_ENDS = frozenset({"paragraph_close", "list_item_close", "blockquote_close", "bullet_list_close", "ordered_list_close"})


def _plain_text(tokens) -> str:
    """The words of the message without markup: paragraphs and items on lines, mentions as `@Name`."""
    parts: list[str] = []
    for token in tokens:
        if token.type == "inline":
            for child in token.children or ():
                if child.type in ("text", "code_inline"):
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append("\n")
                elif child.type == "mention":
                    parts.append("@" + child.meta["name"])
        elif token.type in ("fence", "code_block"):
            parts.append(token.content)
            parts.append("\n")
        elif token.type in _BLOCK_ENDS:
            parts.append("\n")
    lines = "".join(parts).split("\n")
    return "\n".join(line.rstrip() for line in lines if line.strip())
