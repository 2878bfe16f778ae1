"""rooms/emoji.py: what a reaction may be, and the catalogue the picker gets."""
from pathlib import Path

import emoji as unicode_emoji
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given, settings as hypothesis_settings, strategies as st

from rooms.emoji import CATALOGUE, CATEGORY_LABELS, SHORTCODES, catalogue, catalogue_module, normalize_reaction

FULLY_QUALIFIED = unicode_emoji.STATUS["fully_qualified"]


@pytest.mark.parametrize("value", [
    "👍", "🎉", "❤️", "😂",
    "👍🏽",  # skin tone
    "👩‍👩‍👧",  # ZWJ family
    "🧑🏾‍💻",  # ZWJ with skin tone
    "🏳️‍🌈",  # ZWJ with variation selector
    "🇫🇷", "🇺🇳",  # flags
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",  # subdivision flag (tag sequence)
    "1️⃣", "#️⃣",  # keycaps
    "🫠",  # Unicode 14
])
def test_a_fully_qualified_emoji_is_kept_as_it_is(value):
    assert normalize_reaction(value) == value


@pytest.mark.parametrize("value, canonical", [
    ("❤", "❤️"),
    ("☺", "☺️"),
    ("©", "©️"),
    ("1⃣", "1️⃣"),
    ("👁‍🗨", "👁️‍🗨️"),
    ("👍\ufe0f", "👍"),  # a stray variation selector
])
def test_an_unqualified_emoji_becomes_its_fully_qualified_form(value, canonical):
    assert normalize_reaction(value) == canonical


@pytest.mark.parametrize("value, canonical", [
    (":+1:", "👍"), (":thumbsup:", "👍"), (":-1:", "👎"), (":heart:", "❤️"), (":tada:", "🎉"),
    (":joy:", "😂"), (":smile:", "😄"), (":eyes:", "👀"), (":rocket:", "🚀"), (":white_check_mark:", "✅"),
    (":TADA:", "🎉"),
])
def test_a_known_shortcode_gives_its_emoji(value, canonical):
    assert normalize_reaction(value) == canonical


@pytest.mark.parametrize("value", [
    "", " ", "a", "ok", "👍👍", "👍 ", " 👍", "👍\n", "😀x", "x😀",
    ":nope:", "::", ":", ":+1", "+1", ": +1:", ":+1: ",
    "🏽",  # a skin tone alone is a component, not an emoji
    "🇦",  # half a flag
    "\u200d", "👍\u200d", "\ufe0f", "#", "1",
    "<script>", "\x00", "👍\x00",
    "👍" * 40,
    None, 1, ["👍"],
])
def test_anything_but_one_emoji_is_refused(value):
    assert normalize_reaction(value) is None


@hypothesis_settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=40))
def test_any_text_gives_none_or_one_fully_qualified_emoji(value):
    result = normalize_reaction(value)
    assert result is None or unicode_emoji.EMOJI_DATA[result]["status"] == FULLY_QUALIFIED
    assert result is None or normalize_reaction(result) == result


@hypothesis_settings(max_examples=200, deadline=None, derandomize=True)
@given(st.sampled_from(sorted(unicode_emoji.EMOJI_DATA)))
def test_every_unicode_emoji_but_components_is_accepted(value):
    result = normalize_reaction(value)
    if unicode_emoji.EMOJI_DATA[value]["status"] == unicode_emoji.STATUS["component"]:
        assert result is None
    else:
        assert result is not None and unicode_emoji.EMOJI_DATA[result]["en"] == unicode_emoji.EMOJI_DATA[value]["en"]


def test_the_catalogue_holds_fully_qualified_emoji_once_each():
    emojis = [entry.emoji for entry in CATALOGUE]
    assert 150 <= len(emojis) <= 350
    assert len(set(emojis)) == len(emojis)
    for entry in CATALOGUE:
        assert unicode_emoji.EMOJI_DATA[entry.emoji]["status"] == FULLY_QUALIFIED, entry
        assert entry.category in CATEGORY_LABELS


def test_shortcodes_are_unique_and_all_of_them_work():
    names = [name for entry in CATALOGUE for name in (entry.name, *entry.aliases)]
    assert len(set(names)) == len(names)
    for name, char in SHORTCODES.items():
        assert name == name.lower() and ":" not in name and " " not in name
        assert normalize_reaction(f":{name}:") == char


def test_catalogue_for_the_picker_lists_emoji_name_aliases_and_category():
    first = catalogue()[0]
    assert set(first) == {"emoji", "name", "aliases", "category"}
    assert len(catalogue()) == len(CATALOGUE)


def test_the_browser_catalogue_is_up_to_date():
    path = Path(settings.BASE_DIR) / "static" / "js" / "parley" / "emoji-data.js"
    assert path.read_text(encoding="utf-8") == catalogue_module()
    call_command("emoji_catalogue", "--check", verbosity=0)


def test_emoji_catalogue_check_fails_on_a_stale_file_and_the_command_rewrites_it(tmp_path, settings):
    settings.BASE_DIR = tmp_path
    target = tmp_path / "static" / "js" / "parley" / "emoji-data.js"
    target.parent.mkdir(parents=True)
    target.write_text("export const EMOJI = [];\n", encoding="utf-8")
    with pytest.raises(CommandError, match="out of date"):
        call_command("emoji_catalogue", "--check", verbosity=0)
    call_command("emoji_catalogue", verbosity=0)
    assert target.read_text(encoding="utf-8") == catalogue_module()
    call_command("emoji_catalogue", "--check", verbosity=0)
