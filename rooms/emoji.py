"""Emoji for reactions: the built-in catalogue the picker offers, and what a reaction may be.

A reaction is one emoji, written either as the Unicode sequence itself or as a
`:shortcode:` of the catalogue below. Which sequences are emoji is Unicode's
list (emoji-test.txt), not ours: the `emoji` package keeps it, with every ZWJ
sequence, skin tone, flag and keycap, and its status (fully qualified,
unqualified, component). A reaction is stored fully qualified, so "❤" and
"❤️" count as the same heart.

The catalogue is small on purpose (about 300 of the emoji people react with,
Slack's and GitHub's shortcodes for names) and has no images: the browser
draws the characters, so there is no CDN and nothing to fetch. Most of this
module's lines are that catalogue, as data; the code is the last fifty.
static/js/parley/emoji-data.js is generated from it by
`python manage.py emoji_catalogue`, and a test checks that the two agree.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import emoji as unicode_emoji

# The longest emoji sequences (a family with skin tones, a subdivision flag) are
# about 15 code points; anything much longer is not one emoji.
MAX_REACTION = 32

CATEGORY_LABELS = {
    "people": "Smileys & people",
    "gestures": "Hands & body",
    "hearts": "Hearts & feelings",
    "nature": "Animals & nature",
    "food": "Food & drink",
    "activities": "Activities",
    "travel": "Travel & places",
    "objects": "Objects",
    "symbols": "Symbols",
    "flags": "Flags",
}

# One emoji a line: the emoji, its name, then its other names.
_SOURCE = {
    "people": """
        😄 smile smiley
        😀 grinning
        😆 laughing satisfied
        😂 joy
        🤣 rofl
        😅 sweat_smile
        🙂 slightly_smiling_face slight_smile
        🙃 upside_down_face
        😉 wink
        😊 blush
        😇 innocent
        😍 heart_eyes
        🤩 star_struck
        😘 kissing_heart
        😋 yum
        😜 stuck_out_tongue_winking_eye
        🤪 zany_face
        🤗 hugs hugging
        🤔 thinking thinking_face
        🤫 shushing_face
        🤐 zipper_mouth_face
        🤨 raised_eyebrow
        😐 neutral_face
        😑 expressionless
        😶 no_mouth
        😏 smirk
        😒 unamused
        🙄 roll_eyes
        😬 grimacing
        😌 relieved
        😔 pensive
        😪 sleepy
        😴 sleeping
        😷 mask
        🤒 face_with_thermometer
        🤢 nauseated_face
        🥵 hot_face
        🥶 cold_face
        🤯 exploding_head
        🤠 cowboy_hat_face
        🥳 partying_face
        😎 sunglasses
        🤓 nerd_face
        🧐 monocle_face
        😕 confused
        😟 worried
        😮 open_mouth
        😲 astonished
        😳 flushed
        🥺 pleading_face
        😢 cry
        😭 sob
        😱 scream
        😩 weary
        🥱 yawning_face
        😤 triumph
        😡 rage
        💀 skull
        💩 poop hankey
        🤡 clown_face
        👻 ghost
        👽 alien
        🤖 robot
        🙈 see_no_evil
        🙉 hear_no_evil
        🙊 speak_no_evil
    """,
    "gestures": """
        👍 +1 thumbsup
        👎 -1 thumbsdown
        👌 ok_hand
        🤌 pinched_fingers
        ✌️ v
        🤞 crossed_fingers
        🤟 love_you_gesture
        🤘 metal
        🤙 call_me_hand
        👈 point_left
        👉 point_right
        👆 point_up_2
        👇 point_down
        ☝️ point_up
        👋 wave
        ✋ raised_hand
        🤚 raised_back_of_hand
        🖖 vulcan_salute
        ✊ fist fist_raised
        👊 facepunch punch
        👏 clap
        🙌 raised_hands
        👐 open_hands
        🤲 palms_up_together
        🤝 handshake
        🙏 pray
        ✍️ writing_hand
        💪 muscle
        🧠 brain
        👀 eyes
        👁️ eye
        👅 tongue
        👄 lips
        🤷 shrug person_shrugging
        🤦 facepalm person_facepalming
        🙋 raising_hand
        🙇 bow
    """,
    "hearts": """
        ❤️ heart red_heart
        🧡 orange_heart
        💛 yellow_heart
        💚 green_heart
        💙 blue_heart
        💜 purple_heart
        🖤 black_heart
        🤍 white_heart
        🤎 brown_heart
        💔 broken_heart
        ❤️‍🔥 heart_on_fire
        💕 two_hearts
        💖 sparkling_heart
        💯 100
        💢 anger
        💥 boom collision
        💫 dizzy
        💦 sweat_drops
        💨 dash
        💤 zzz
        💬 speech_balloon
        💭 thought_balloon
    """,
    "nature": """
        🐶 dog
        🐱 cat
        🦊 fox_face
        🐻 bear
        🐼 panda_face
        🐯 tiger
        🦁 lion
        🐸 frog
        🐧 penguin
        🦉 owl
        🦄 unicorn
        🐝 bee
        🐛 bug
        🦋 butterfly
        🐢 turtle
        🐍 snake
        🍀 four_leaf_clover
        🌹 rose
        🌻 sunflower
        ☀️ sunny
        ⚡ zap
        ❄️ snowflake
        🔥 fire
        🌈 rainbow
        ⭐ star
        🌟 star2
        ✨ sparkles
        🌍 earth_africa
    """,
    "food": """
        🍎 apple
        🍌 banana
        🍓 strawberry
        🍉 watermelon
        🍋 lemon
        🍑 peach
        🍒 cherries
        🥑 avocado
        🌶️ hot_pepper
        🍞 bread
        🧀 cheese
        🍳 egg
        🍔 hamburger
        🍟 fries
        🍕 pizza
        🌮 taco
        🍣 sushi
        🍜 ramen
        🍿 popcorn
        🍩 doughnut
        🍪 cookie
        🎂 birthday
        🍰 cake
        🍨 ice_cream
        ☕ coffee
        🍵 tea
        🍺 beer
        🍻 beers
        🥂 clinking_glasses
        🍷 wine_glass
        🍾 champagne
    """,
    "activities": """
        🎉 tada
        🎊 confetti_ball
        🎈 balloon
        🎁 gift
        🏆 trophy
        🥇 1st_place_medal
        ⚽ soccer
        🏀 basketball
        🎮 video_game
        🎯 dart
        🎲 game_die
        🧩 jigsaw
        🎨 art
        🎤 microphone
        🎧 headphones
        🎵 musical_note
        🎸 guitar
    """,
    "travel": """
        🚀 rocket
        ✈️ airplane
        🚗 car
        🚲 bike
        🚆 train2
        🚢 ship
        🚧 construction
        🚨 rotating_light
        🏠 house
        🏢 office
        🏥 hospital
        🏝️ desert_island
        ⛰️ mountain
        🌐 globe_with_meridians
    """,
    "objects": """
        💻 computer
        ⌨️ keyboard
        📱 iphone mobile_phone
        📷 camera
        💡 bulb
        ⌛ hourglass
        ⏰ alarm_clock
        📆 calendar
        📝 memo
        ✏️ pencil2
        📎 paperclip
        📌 pushpin
        ✂️ scissors
        📁 file_folder
        📋 clipboard
        📈 chart_with_upwards_trend
        📉 chart_with_downwards_trend
        📊 bar_chart
        📚 books
        🔖 bookmark
        🔗 link
        🔒 lock
        🔓 unlock
        🔑 key
        🔧 wrench
        🛠️ hammer_and_wrench
        ⚙️ gear
        🧪 test_tube
        🔬 microscope
        💰 moneybag
        ✉️ envelope
        📦 package
        🏷️ label
        🔍 mag
        🔔 bell
        🔕 no_bell
        📣 mega
        💣 bomb
        💊 pill
    """,
    "symbols": """
        ✅ white_check_mark
        ✔️ heavy_check_mark
        ☑️ ballot_box_with_check
        ❌ x
        ❎ negative_squared_cross_mark
        ➕ heavy_plus_sign
        ➖ heavy_minus_sign
        ‼️ bangbang
        ❓ question
        ❗ exclamation
        ⚠️ warning
        ⛔ no_entry
        🛑 stop_sign
        🚫 no_entry_sign
        🆘 sos
        🆗 ok
        🆕 new
        🆒 cool
        🔜 soon
        ⬆️ arrow_up
        ⬇️ arrow_down
        ⬅️ arrow_left
        ➡️ arrow_right
        🔄 arrows_counterclockwise
        🔁 repeat
        ♻️ recycle
        ♾️ infinity
        🔴 red_circle
        🟠 orange_circle
        🟡 yellow_circle
        🟢 green_circle
        🔵 large_blue_circle blue_circle
        🟣 purple_circle
        ⚫ black_circle
        ⚪ white_circle
        1️⃣ one
        2️⃣ two
        3️⃣ three
        4️⃣ four
        5️⃣ five
    """,
    "flags": """
        🏁 checkered_flag
        🚩 triangular_flag_on_post
        🎌 crossed_flags
        🏴 black_flag
        🏳️ white_flag
        🏳️‍🌈 rainbow_flag
        🏴‍☠️ pirate_flag
    """,
}


@dataclass(frozen=True, slots=True)
class Emoji:
    emoji: str
    name: str
    aliases: tuple[str, ...]
    category: str


def _parse(source: dict[str, str]) -> tuple[Emoji, ...]:
    entries = []
    for category, lines in source.items():
        for line in lines.split("\n"):
            if line.strip():
                char, name, *aliases = line.split()
                entries.append(Emoji(char, name, tuple(aliases), category))
    return tuple(entries)


CATALOGUE: tuple[Emoji, ...] = _parse(_SOURCE)
SHORTCODES: dict[str, str] = {
    name: entry.emoji for entry in CATALOGUE for name in (entry.name, *entry.aliases)
}

_FULLY_QUALIFIED = unicode_emoji.STATUS["fully_qualified"]
_COMPONENT = unicode_emoji.STATUS["component"]
_VS16 = "\ufe0f"


def normalize_reaction(value: str) -> str | None:
    """Return the fully qualified emoji that `value` names, or None if it is not exactly one emoji.

    `value` is one Unicode emoji sequence (with or without its variation
    selectors) or a `:shortcode:` of the catalogue. Text, several emoji, a
    lone skin tone or other component, and any white space are refused.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_REACTION:
        return None
    if len(value) > 2 and value[0] == ":" == value[-1]:
        return SHORTCODES.get(value[1:-1].lower())
    data = unicode_emoji.EMOJI_DATA.get(value)
    if data is None and _VS16 in value:
        # People and keyboards add or drop U+FE0F freely; the sequence without any is still listed.
        value = value.replace(_VS16, "")
        data = unicode_emoji.EMOJI_DATA.get(value)
    if data is None or data["status"] == _COMPONENT:
        return None
    if data["status"] == _FULLY_QUALIFIED:
        return value
    qualified = unicode_emoji.emojize(data["en"])
    if unicode_emoji.EMOJI_DATA.get(qualified, {}).get("status") == _FULLY_QUALIFIED:
        return qualified
    return None


def catalogue() -> list[dict]:
    """Return the catalogue as the picker takes it: `[{emoji, name, aliases, category}]`, in picker order."""
    return [
        {"emoji": entry.emoji, "name": entry.name, "aliases": list(entry.aliases), "category": entry.category}
        for entry in CATALOGUE
    ]


def catalogue_module() -> str:
    """Return the text of static/js/parley/emoji-data.js: the catalogue as an ES module."""
    lines = [
        "// Generated from rooms/emoji.py by `python manage.py emoji_catalogue`; do not edit.",
        "// The emoji picker's catalogue: [{emoji, name, aliases, category}], in picker order.",
        "",
        "export const CATEGORIES = [",
        *(
            f"  {json.dumps({'id': key, 'label': label}, ensure_ascii=False)},"
            for key, label in CATEGORY_LABELS.items()
        ),
        "];",
        "",
        "export const EMOJI = [",
        *(f"  {json.dumps(item, ensure_ascii=False)}," for item in catalogue()),
        "];",
        "",
        "export default EMOJI;",
        "",
    ]
    return "\n".join(lines)
