"""Screenshots of the main views in both themes, at desktop and phone size (issue 14).

    PARLEY_SCREENSHOTS=docs/screenshots .venv/bin/pytest tests/test_screenshots.py

writes them into docs/screenshots/ as <view>-<theme>-<size>.png (the README shows
two). Without PARLEY_SCREENSHOTS they go to pytest's temporary directory, and the
test still checks what a person would notice first in them: the page is in the
theme asked for, and nothing sticks out sideways at phone width.
"""
import os
from pathlib import Path

import pytest

from tests.test_browser import browser  # noqa: F401 (fixture)
from tests.tour import ROOT, SIZES, THEMES, Tour

pytestmark = [pytest.mark.browser, pytest.mark.server]

BACKGROUNDS = {"light": "rgb(245, 246, 248)", "dark": "rgb(15, 18, 23)"}  # --bg
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def out_dir(tmp_path):
    wanted = os.environ.get("PARLEY_SCREENSHOTS")
    folder = (ROOT / wanted) if wanted and not Path(wanted).is_absolute() else Path(wanted or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots_of_the_main_views(browser, live_server_url, out_dir, size, theme):
    tour = Tour(browser, live_server_url, size, theme)
    try:
        written, problems = [], []
        for name, page in tour.views():
            path = out_dir / f"{name}-{theme}-{size}.png"
            page.screenshot(path=path, animations="disabled", caret="hide")
            written.append(path)
            if page.evaluate("getComputedStyle(document.body).backgroundColor") != BACKGROUNDS[theme]:
                problems.append(f"{name} is not in the {theme} theme")
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 0:
                problems.append(f"{name} scrolls sideways by {overflow} px")
        assert problems == [], "; ".join(problems)
        for path in written:
            assert path.read_bytes()[:8] == PNG, path
        assert len(written) >= 8
    finally:
        tour.close()
