"""hmrlib.present.browser: where the browser test's Chromium is looked for, and what a machine
without one and without a way to install one is told."""

import os

import pytest

from hmrlib.present import browser
from hmrlib.present.browser import BrowserMissing, ensure_browser, find_browser


def executable(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def bare_machine(tmp_path, monkeypatch):
    """No browser on PATH, none downloaded by Playwright, no HMRLIB_BROWSER."""
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "ms-playwright"))
    monkeypatch.delenv("HMRLIB_BROWSER", raising=False)
    return tmp_path


def test_a_chosen_browser_comes_first_and_a_wrong_one_is_named(bare_machine, monkeypatch):
    chosen = executable(bare_machine / "chrome")
    executable(bare_machine / "bin" / "chromium")
    monkeypatch.setenv("HMRLIB_BROWSER", str(chosen))
    assert find_browser() == chosen
    monkeypatch.setenv("HMRLIB_BROWSER", str(bare_machine / "nothing-here"))
    with pytest.raises(BrowserMissing, match="nothing-here"):
        find_browser()


def test_path_then_playwrights_own_download(bare_machine):
    assert find_browser() is None
    downloaded = executable(bare_machine / "ms-playwright" / "chromium-1234" / "chrome-linux64" / "chrome")
    assert find_browser() == downloaded
    on_path = executable(bare_machine / "bin" / "google-chrome")
    assert find_browser() == on_path


def test_no_browser_and_no_way_to_install_fails_at_once_with_the_instruction(bare_machine, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # not root: no apt-get
    tried = []
    monkeypatch.setattr(browser, "_run", lambda command: tried.append(command) or False)  # offline
    with pytest.raises(BrowserMissing) as err:
        ensure_browser()
    assert [command[-3:] for command in tried] == [["playwright", "install", "chromium"]]
    assert "apt-get install chromium" in str(err.value) and "playwright install chromium" in str(err.value)
    with pytest.raises(BrowserMissing, match="HMRLIB_BROWSER"):
        ensure_browser(install=False)
