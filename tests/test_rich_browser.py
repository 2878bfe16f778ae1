"""The composer's completions and the emoji picker in a real Chromium (issue 11).

Only what the browser client does on its own is driven here: the `@` and
`:shortcode` popups write their text into the composer, the composer's emoji
picker inserts at the caret, and the reaction picker opens in a message and
gives the focus back on Esc. Sending a mention or adding a reaction needs the
server's half of Part 2, tested with it.
"""
import pytest
from playwright.sync_api import expect

from tests.test_browser import CONFIRMED, browser, sign_up  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.server]


def two_in_a_room(sign_up):
    """Ana and Benedict in a new room, Ana's page open on it."""
    ana, ben = sign_up("Ana", "Alves"), sign_up("Benedict", "Brown")
    room = ana.create_room()
    ben.join(room["slug"])
    ana.open_room(room["slug"], room["name"])
    return ana, ben, room


def box_inside_viewport(page, selector):
    box = page.locator(selector).bounding_box()
    width = page.viewport_size["width"]
    return box["x"] >= 0 and box["x"] + box["width"] <= width, box


def test_the_composer_completes_a_mention_and_a_shortcode_and_inserts_from_the_emoji_picker(sign_up):
    ana, _, _ = two_in_a_room(sign_up)
    page = ana.page
    composer = page.locator("#composer")
    listbox = page.locator("#composer-form [role=listbox]")

    # "@Be": Benedict is offered (not Ana herself); ArrowDown + Enter chooses, and does not send.
    composer.click()
    composer.press_sequentially("@Be")
    expect(listbox).to_be_visible()
    expect(listbox.locator("[role=option] .completion-name")).to_have_text(["Benedict Brown"])
    expect(composer).to_have_attribute("aria-expanded", "true")
    active = listbox.locator("[role=option][aria-selected=true]")
    expect(composer).to_have_attribute("aria-activedescendant", active.get_attribute("id"))
    composer.press("ArrowDown")
    composer.press("Enter")
    expect(composer).to_have_value("@**Benedict Brown** ")
    expect(listbox).to_be_hidden()
    expect(composer).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#messages li.message")).to_have_count(0)

    # "@" alone offers "all" too; Esc closes the list, and it stays closed for that query.
    composer.fill("")
    composer.press_sequentially("@")
    expect(listbox.locator("[role=option] .completion-name")).to_have_text(["Benedict Brown", "all"])
    composer.press("Escape")
    expect(listbox).to_be_hidden()
    composer.press_sequentially("B")
    expect(listbox).to_be_hidden()

    # ":thumbsu" offers 👍; Enter puts it in place of the query.
    composer.fill("")
    composer.press_sequentially("ok :thumbsu")
    expect(listbox.locator("[role=option]").first).to_contain_text("👍")
    composer.press("Enter")
    expect(composer).to_have_value("ok 👍")

    # A shortcode typed in full becomes its emoji; in code it stays as typed.
    composer.press_sequentially(" :smile: `:smile:`")
    expect(composer).to_have_value("ok 👍 😄 `:smile:`")

    # The emoji button: search "heart", Enter inserts ❤️ at the caret, the focus back in the composer.
    composer.fill("I ")
    page.locator("#emoji-button").click()
    picker = page.locator("#composer-form .emoji-picker")
    search = picker.locator("input[type=search]")
    expect(search).to_be_focused()
    expect(page.locator("#emoji-button")).to_have_attribute("aria-expanded", "true")
    expect(picker.locator(".emoji-section").first).to_have_attribute("aria-label", "Quick reactions")
    search.press_sequentially("heart")
    expect(picker.locator("[role=option]").first).to_have_text("❤️")
    search.press("Enter")
    expect(picker).to_have_count(0)
    expect(composer).to_have_value("I ❤️")
    expect(composer).to_be_focused()
    expect(page.locator("#emoji-button")).to_have_attribute("aria-expanded", "false")

    # Arrow keys move through the grid; Esc closes and gives the focus back to the button.
    page.locator("#emoji-button").click()
    expect(search).to_be_focused()
    first = picker.locator("[role=option]").nth(0)
    expect(first).to_have_attribute("aria-selected", "true")
    search.press("ArrowRight")
    expect(picker.locator("[role=option]").nth(1)).to_have_attribute("aria-selected", "true")
    search.press("ArrowDown")  # the quick reactions are one row of 8: down goes to the first category
    expect(search).to_have_attribute("aria-activedescendant", picker.locator("[role=option]").nth(9).get_attribute("id"))
    search.press("Escape")
    expect(picker).to_have_count(0)
    expect(page.locator("#emoji-button")).to_be_focused()
    expect(composer).to_have_value("I ❤️")


def test_the_reaction_picker_opens_in_a_message_and_esc_gives_the_focus_back(sign_up):
    ana, ben, room = two_in_a_room(sign_up)
    page = ana.page
    ben.post_message(room["slug"], "Pick an emoji")
    message = page.locator(CONFIRMED).last
    expect(message.locator(".body")).to_have_text("Pick an emoji")
    message.hover()
    message.locator(".message-actions [data-action=react]").click()
    picker = message.locator(".emoji-picker")
    expect(picker).to_be_visible()
    expect(picker.locator("input[type=search]")).to_be_focused()
    picker.locator("input[type=search]").press_sequentially("tada")
    expect(picker.locator("[role=option]").first).to_have_text("🎉")
    picker.locator("input[type=search]").press("Escape")
    expect(picker).to_have_count(0)
    expect(message.locator(".message-actions [data-action=react]")).to_be_focused()


def test_the_popups_stay_inside_a_phone_sized_window(sign_up):
    ana, ben, room = two_in_a_room(sign_up)
    page = ana.page
    page.set_viewport_size({"width": 375, "height": 700})
    composer = page.locator("#composer")
    composer.click()
    composer.press_sequentially("@b")
    expect(page.locator("#composer-form [role=listbox]")).to_be_visible()
    inside, box = box_inside_viewport(page, "#composer-form [role=listbox]")
    assert inside, box
    composer.press("Escape")

    page.locator("#emoji-button").click()
    expect(page.locator("#composer-form .emoji-picker")).to_be_visible()
    inside, box = box_inside_viewport(page, "#composer-form .emoji-picker")
    assert inside and box["y"] >= 0, box
    page.keyboard.press("Escape")

    ben.post_message(room["slug"], "On a phone")
    message = page.locator(CONFIRMED).last
    expect(message.locator(".body")).to_have_text("On a phone")
    message.click()  # a tap shows the action bar
    message.locator(".message-actions [data-action=react]").click()
    expect(message.locator(".emoji-picker")).to_be_visible()
    inside, box = box_inside_viewport(page, "#messages .emoji-picker")
    assert inside, box


def test_the_inline_editor_completes_a_mention_and_enter_chooses_instead_of_saving(sign_up):
    ana, _, room = two_in_a_room(sign_up)
    page = ana.page
    ana.post_message(room["slug"], "Thanks")
    expect(page.locator(f"{CONFIRMED} .body")).to_have_text(["Thanks"])
    page.locator("#composer").click()
    page.locator("#composer").press("ArrowUp")  # edit my last message
    editor = page.locator("#messages .edit-input")
    expect(editor).to_be_focused()
    editor.press("End")
    editor.press_sequentially(" @ben")
    listbox = page.locator("#messages .editor [role=listbox]")
    expect(listbox.locator("[role=option] .completion-name")).to_have_text(["Benedict Brown"])
    editor.press("Enter")
    expect(editor).to_have_value("Thanks @**Benedict Brown** ")
    expect(listbox).to_be_hidden()
    expect(page.locator("#messages .editor")).to_have_count(1)  # still editing: Enter chose, it did not save
    editor.press("Escape")
    expect(page.locator("#messages .editor")).to_have_count(0)
    expect(page.locator(f"{CONFIRMED} .body")).to_have_text(["Thanks"])
