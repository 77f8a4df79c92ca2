"""A Chromium for the JupyterLab browser test (``tests/test_browser.py``), found or installed.

``python -m hmrlib browser`` runs :func:`ensure_browser` before the test suite (the README's second
command does): it finds a Chromium-family browser, installs one where it can, and otherwise stops
at once with the instruction — so that the browser test is never skipped and never fails for want
of a browser on a fresh machine. Where it looks, in this order:

1. ``$HMRLIB_BROWSER`` (a path to the executable);
2. Debian's ``chromium``, ``chromium-browser``, Google Chrome, on ``PATH``;
3. Playwright's own downloaded Chromium (``playwright install chromium``; in
   ``$PLAYWRIGHT_BROWSERS_PATH`` or ``~/.cache/ms-playwright``).

Where it installs: as root with ``apt-get`` (Debian's ``chromium``), else, without root,
``playwright install chromium`` (needs the internet; Playwright's Python package is pinned in
requirements.txt).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from hmrlib.errors import HmrlibError

ON_PATH = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Playwright's layout: <browsers>/chromium-<build>/chrome-linux64/chrome (chrome-linux/ before 1.50)
PLAYWRIGHT_GLOBS = ("chromium-*/chrome-linux64/chrome", "chromium-*/chrome-linux/chrome")


class BrowserMissing(HmrlibError, FileNotFoundError):
    """No Chromium was found and none could be installed here."""


def playwright_browsers() -> Path:
    return Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")


def find_browser() -> Path | None:
    """The first Chromium-family executable in the order of this module's docstring, or None."""
    chosen = os.environ.get("HMRLIB_BROWSER")
    if chosen:
        path = Path(chosen).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise BrowserMissing(f"HMRLIB_BROWSER={chosen}: no executable file there")
        return path
    for name in ON_PATH:
        found = shutil.which(name)
        if found:
            return Path(found)
    downloaded = sorted(p for pattern in PLAYWRIGHT_GLOBS for p in playwright_browsers().glob(pattern))
    return downloaded[-1] if downloaded else None


def _run(command: list[str]) -> bool:
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, stdin=subprocess.DEVNULL).returncode == 0


def install_browser() -> list[str]:
    """Try each way of installing a Chromium that this machine allows; the commands tried."""
    tried = []
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if is_root and shutil.which("apt-get"):
        tried.append("apt-get install chromium")
        if _run(["apt-get", "update", "-q"]) and _run(["apt-get", "install", "-y", "-q", "chromium"]):
            return tried
    tried.append("playwright install chromium")
    _run([sys.executable, "-m", "playwright", "install", "chromium"])
    return tried


def instruction() -> str:
    return (
        "the JupyterLab browser test needs a Chromium: as root on Debian `apt-get install chromium`; "
        f"online without root `{Path(sys.executable).name} -m playwright install chromium`; or set "
        "HMRLIB_BROWSER=/path/to/chrome (deselect that one test with `-m 'not slow'` only knowingly)"
    )


def ensure_browser(install: bool = True) -> Path:
    """A Chromium's path, installing one if none is found and ``install``; else BrowserMissing."""
    found = find_browser()
    if found is not None:
        return found
    if not install:
        raise BrowserMissing(f"no Chromium found: {instruction()}")
    tried = install_browser()
    found = find_browser()
    if found is None:
        raise BrowserMissing(f"no Chromium found, and {' then '.join(tried)} gave none: {instruction()}")
    return found
