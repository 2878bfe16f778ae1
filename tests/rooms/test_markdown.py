"""rooms/markdown.py: the contract's allow-list, links, mentions, plain text, and hostile bodies.

Every rendered output is checked by parsing it with html.parser (`_structure`):
a tag or attribute outside the allow-list fails the test whatever the input.
"""
import time
from html.parser import HTMLParser

import pytest
from hypothesis import example, given, settings as hypothesis_settings, strategies as st

from rooms.markdown import ALLOWED_TAGS, LINK_REL, render

MEMBERS = {1: "Ada Lovelace", 2: "Bob", 3: "Bob", 4: "José Núñez", 5: "all", 6: "Grace Hopper"}
# Attributes the renderer may write, and the only values some of them may take.
ALLOWED_ATTRIBUTES = {"a": {"href", "rel", "target"}, "span": {"class", "data-user-id"}}
# A guard against runaway (quadratic or worse) parsing, not a benchmark: a 4,000-character
# body takes a few ms, hostile ones at most some tens of ms on this machine.
DEADLINE = 1.0


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []  # (tag, attrs dict)
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.elements.append(("!--", {}))

    def handle_decl(self, decl):
        self.elements.append(("!decl", {}))

    def handle_pi(self, data):
        self.elements.append(("?pi", {}))

    def unknown_decl(self, data):
        self.elements.append(("!decl", {}))


def _structure(html):
    """Parse `html`; assert every tag and attribute is allowed; return the elements."""
    parser = _Collector()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.elements:
        assert tag in ALLOWED_TAGS, (tag, html)
        assert set(attrs) <= ALLOWED_ATTRIBUTES.get(tag, set()), (tag, attrs, html)
        if tag == "a":
            assert attrs.get("rel") == LINK_REL and attrs.get("target") == "_blank", attrs
            href = attrs.get("href") or ""
            assert href.lower().startswith(("http://", "https://", "mailto:")), href
        if tag == "span":
            assert attrs.get("class") == "mention", attrs
            assert "data-user-id" not in attrs or attrs["data-user-id"].isdigit(), attrs
    return parser.elements


def _render(body, members=MEMBERS):
    started = time.perf_counter()
    result = render(body, members=members)
    assert time.perf_counter() - started < DEADLINE, f"{len(body)} characters took too long"
    _structure(result.html)
    return result


def _tags(html):
    return [tag for tag, _ in _structure(html)]


# -- Markdown -----------------------------------------------------------------------------


def test_inline_formatting_renders_to_the_contracts_tags():
    html = _render("**bold** *em* _em_ ~~gone~~ `code`").html
    assert html == "<p><strong>bold</strong> <em>em</em> <em>em</em> <del>gone</del> <code>code</code></p>"


def test_blocks_render_quotes_lists_and_fenced_code():
    html = _render("> quoted\n\n- one\n- two\n\n1. first\n2. second\n\n```python\nx = 1 < 2\n```").html
    assert _tags(html) == ["blockquote", "p", "ul", "li", "li", "ol", "li", "li", "pre", "code"]
    assert "x = 1 &lt; 2" in html
    assert "language-python" not in html  # no class on code: the allow-list is tight


def test_hard_line_break_is_br():
    assert _tags(_render("one  \ntwo").html) == ["p", "br"]


def test_headings_rules_and_images_stay_literal_text():
    result = _render("# Title\n\n---\n\n![alt](https://example.com/a.png)")
    assert _tags(result.html) == ["p", "p", "p", "a"]
    assert "# Title" in result.html and "<p>---</p>" in result.html
    assert "img" not in result.html


def test_raw_html_is_shown_as_text():
    result = _render('<b>hi</b> <script>alert(1)</script> <img src=x onerror="alert(1)"> <!-- c -->')
    assert _tags(result.html) == ["p"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result.html
    assert '&lt;img src=x onerror="alert(1)"&gt;' in result.html
    assert result.text == '<b>hi</b> <script>alert(1)</script> <img src=x onerror="alert(1)"> <!-- c -->'


def test_raw_html_block_is_shown_as_text():
    html = _render("<div>\n<script>alert(1)</script>\n</div>").html
    assert _tags(html) == ["p", "br", "br"]  # its lines, as typed
    assert "&lt;div&gt;" in html


# -- Links --------------------------------------------------------------------------------


@pytest.mark.parametrize("body, href", [
    ("[site](https://example.com/a?b=1&c=2)", "https://example.com/a?b=1&c=2"),
    ("[plain](http://example.com)", "http://example.com"),
    ("[mail](mailto:ada@example.com)", "mailto:ada@example.com"),
    ("<https://example.com/x>", "https://example.com/x"),
    ("see https://example.com/path_(x).", "https://example.com/path_(x)"),
    ("www.example.com", "http://www.example.com"),
    ("ada@example.com", "mailto:ada@example.com"),
])
def test_links_get_rel_and_target_and_keep_their_address(body, href):
    [(tag, attrs)] = [e for e in _structure(_render(body).html) if e[0] == "a"]
    assert attrs == {"href": href, "rel": LINK_REL, "target": "_blank"}


@pytest.mark.parametrize("body", [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript&#58;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "[x](ftp://example.com)",
    "[x](/logout)",
    "[x](//evil.example/x)",
    "[x](#top)",
    "<javascript:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "javascript:alert(1)",
    "[x]: javascript:alert(1)\n\n[x]",
])
def test_links_other_than_http_https_mailto_are_not_links(body):
    assert "<a" not in _render(body).html


def test_attributes_written_after_a_link_stay_text():
    elements = _structure(_render('[x](https://example.com onclick="alert(1)")').html)
    assert [attrs for tag, attrs in elements if tag == "a"] == [
        {"href": "https://example.com", "target": "_blank", "rel": LINK_REL}
    ]


def test_link_title_is_dropped():
    [(_, attrs)] = [e for e in _structure(_render('[x](https://example.com "a title")').html) if e[0] == "a"]
    assert "title" not in attrs


def test_file_names_are_not_taken_for_links():
    assert "<a" not in _render("edit setup.py, main.rs and notes.md").html


# -- Mentions -----------------------------------------------------------------------------


def test_mention_of_a_member_is_a_span_with_the_id_and_their_spelling():
    result = _render("hi @**ada lovelace**!")
    assert '<span class="mention" data-user-id="1">@Ada Lovelace</span>' in result.html
    assert result.mentions == (1,)
    assert result.mention_all is False
    assert result.text == "hi @Ada Lovelace!"


def test_mentions_are_listed_once_in_order_of_first_mention():
    result = _render("@**Grace Hopper** and @**Ada Lovelace**, @**grace  hopper** again")
    assert result.mentions == (6, 1)


def test_mention_all_mentions_everyone_and_wins_over_a_member_named_all():
    result = _render("@**all** standup")
    assert result.mention_all is True
    assert result.mentions == ()
    assert '<span class="mention">@all</span>' in result.html


def test_unknown_name_stays_literal_text():
    result = _render("@**Nobody Here** hi")
    assert result.html == "<p>@**Nobody Here** hi</p>"
    assert result.mentions == ()


def test_mention_of_a_non_member_is_not_resolved():
    result = render("@**Ada Lovelace**", members={6: "Grace Hopper"})
    assert result.mentions == () and "mention" not in result.html


def test_a_name_two_members_share_mentions_nobody_unless_the_id_picks_one():
    assert _render("@**Bob**").mentions == ()
    result = _render("@**Bob|3**")
    assert result.mentions == (3,)
    assert '<span class="mention" data-user-id="3">@Bob</span>' in result.html


def test_an_id_that_does_not_match_the_name_or_the_room_is_not_resolved():
    assert _render("@**Ada Lovelace|6**").mentions == ()
    assert _render("@**Bob|99**").mentions == ()


def test_mentions_match_accents_exactly_but_case_freely():
    assert _render("@**JOSÉ NÚÑEZ**").mentions == (4,)
    assert _render("@**Jose Nunez**").mentions == ()


@pytest.mark.parametrize("body", [
    "`@**Ada Lovelace**`",
    "``@**Ada Lovelace**``",
    "```\n@**Ada Lovelace**\n```",
    "    @**Ada Lovelace**",
    "~~~\n@**all**\n~~~",
    "\\@**Ada Lovelace**",
])
def test_mentions_in_code_or_escaped_stay_literal(body):
    result = _render(body)
    assert result.mentions == () and result.mention_all is False
    assert "mention" not in result.html


def test_mention_glued_to_a_word_is_not_a_mention():
    assert _render("mail@**Ada Lovelace**").mentions == ()


def test_mention_inside_formatting_and_quotes_counts():
    result = _render("> **hey @**Ada Lovelace****\n\n- @**Grace Hopper**")
    assert result.mentions == (1, 6)


def test_mention_names_are_escaped():
    result = render('@**<b onclick="x">**', members={7: '<b onclick="x">'})
    assert result.mentions == (7,)
    assert '>@&lt;b onclick="x"&gt;</span>' in result.html  # text, not a tag: quotes need no escape there
    _structure(result.html)


# -- Plain text ---------------------------------------------------------------------------


def test_plain_text_has_no_markup_and_keeps_code_and_link_text():
    result = _render("**Hi** @**Bob|2**, see [the docs](https://example.com) and `x = 1`\n\n> quoted\n\n- a\n- b")
    assert result.text == "Hi @Bob, see the docs and x = 1\nquoted\na\nb"


def test_plain_text_unescapes_entities():
    assert _render("&amp; &lt;b&gt; &copy;").text == "& <b> ©"


def test_empty_and_blank_bodies_render_to_nothing():
    assert _render("").html == "" and _render("").text == ""
    assert _render("  \n\n ").text == ""


# -- Hostile input ------------------------------------------------------------------------

HOSTILE = {
    "10,000 nested quotes": ">" * 10_000 + " deep",
    "10,000 spaced quotes": "> " * 10_000 + "deep",
    "10,000 nested list markers": "- " * 10_000 + "deep",
    "10,000 ordered markers": "1. " * 10_000,
    "indented list ladder": "\n".join("  " * i + "- x" for i in range(60)),  # 3,779 characters
    "quote and list mix": "> - > 1. " * 2_000,
    "4,000-character link": "[x](https://example.com/" + "a" * 4_000 + ")",
    "4,000-character bare link": "https://example.com/" + "a" * 4_000,
    "brackets": "[" * 4_000,
    "brackets closed at the end": "[" * 3_999 + "]",
    "bracket pairs": "[]" * 2_000,
    "link openers": "[x](" * 1_000,
    "parentheses": "[x](https://e.com/" + "(" * 3_900 + ")",
    "stars": "*" * 4_000,
    "star words": "*a **a " * 600,
    "underscores": "a_" * 2_000,
    "tildes": "~~a" * 1_333,
    "backticks": "`a``" * 1_000,
    "unbalanced fence": "```\n" + "x\n" * 2_000,
    "fence of tildes never closed": "~~~~\n<script>alert(1)</script>",
    "mention openers": "@**" * 1_333,
    "mention with no end": "@**" + "a" * 3_997,
    "entities": "&amp;" * 800,
    "numeric entities": "&#0;&#x110000;&#xD800;&#65533;" * 100,
    "less-than signs": "<" * 4_000,
    "script tags": "<script>alert(1)</script>" * 150,
    "img onerror": '<img src=x onerror="alert(1)">' * 100,
    "NUL bytes": "\x00" * 4_000,
    "lone surrogates": "\ud800 **\udfff** \udbff\udc00" * 100,
    "NUL in a link": "[x](java\x00script:alert(1)) [y](https://e.com/\x00)",
    "reference definitions": "[a]: https://example.com\n" * 150 + "[a] " * 150,
    "bare domains": "www.a.com " * 400,
    "colons": ":" * 4_000,
    "at signs": "@" * 4_000,
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markdown_is_harmless_and_bounded(body):
    result = _render(body)  # checks every tag and attribute against the allow-list
    assert "<script" not in result.html and "<img" not in result.html
    assert "\x00" not in result.html


def test_deep_nesting_stops_at_the_parsers_limit():
    for body in (HOSTILE["10,000 nested quotes"], HOSTILE["10,000 nested list markers"]):
        depth = max_depth = 0
        for token in _Depth(_render(body).html).events:
            depth += token
            max_depth = max(max_depth, depth)
        assert max_depth <= 25


class _Depth(HTMLParser):
    VOID = {"br"}

    def __init__(self, html):
        super().__init__()
        self.events = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.events.append(1)

    def handle_endtag(self, tag):
        self.events.append(-1)


def test_a_long_ordinary_message_renders_in_a_few_ms():
    body = ("Hello **world**, see https://example.com and `code` @**Bob|2**\n\n- item\n" * 60)[:4000]
    render(body, members=MEMBERS)
    started = time.perf_counter()
    for _ in range(5):
        render(body, members=MEMBERS)
    assert (time.perf_counter() - started) / 5 < 0.25  # a guard: about 15 ms here


# -- Properties ---------------------------------------------------------------------------

MARKDOWNISH = st.sampled_from([
    "*", "**", "_", "~~", "`", "```", "~~~", "\n", "\n\n", "> ", "- ", "1. ", "    ", "[", "]", "(", ")",
    "![", "<", ">", "&", "&amp;", "&#", ";", '"', "'", "=", "javascript:", "data:", "vbscript:", "http://",
    "https://", "mailto:", "www.", ".com", "@", "@**", "Bob", "Ada Lovelace", "all", "|3", "<script>", "</",
    "<a href=", "<img src=x onerror=", "onclick=", "\\", "\x00", "\u202e", "\ufeff", " ", "\t", "#", "---",
    "<span class=mention data-user-id=1>", "<!--", "-->", "<![CDATA[", "<?", "<!DOCTYPE",
])
bodies = st.one_of(
    st.text(max_size=200),
    st.lists(MARKDOWNISH | st.text(max_size=5), max_size=60).map("".join),
)


@hypothesis_settings(max_examples=300, deadline=None, derandomize=True)
@given(bodies)
@example('[x](javascript:alert(1)) <script>alert(1)</script> @**Ada Lovelace|1**')
@example("<span class=mention data-user-id=1>x</span>")
def test_any_body_renders_only_allowed_tags_and_attributes(body):
    result = _render(body)
    assert set(result.mentions) <= set(MEMBERS)
    assert isinstance(result.text, str)


@hypothesis_settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_text_without_markdown_meaning_keeps_every_word(body):
    words = [w for w in body.split() if w.isalnum()]
    text = _render(body).text
    for word in words:
        assert word in text


def test_a_newline_in_a_message_is_a_line_break_as_in_every_chat():
    assert _render("first line\nsecond line").html == "<p>first line<br>\nsecond line</p>"
