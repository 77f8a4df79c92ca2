"""JupyterLab in a real browser: notebook 03 after the `tiny` profile, "Run All Cells", then the
viewer's sample slider moved by keyboard as a user would.

Needs a Chromium — ``python -m hmrlib browser`` finds or installs one, and the README's test
command runs it first (``hmrlib.present.browser``) — and Playwright's Python package
(requirements.txt), which drives it offline through ``executable_path``. A missing browser fails
the test with the instruction; it is never skipped. Screenshots go to the test's
folder, and also to ``$HMRLIB_SCREENSHOT_DIR`` when set (the README's picture comes from there).
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hmrlib.present.browser import ensure_browser
from hmrlib.present.notebooks import NOTEBOOK_DIR
from hmrlib.train.ablation import run_ablation

MINUTE = 60_000  # Playwright's timeouts are in milliseconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_jupyterlab(root: Path, env: dict, log: Path):
    """JupyterLab serving ``root`` on 127.0.0.1 with a random token; (process, base url, token)."""
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.news_url=None",
    ]
    server = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            return server, url, token
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.5)
    server.terminate()
    pytest.fail(f"JupyterLab did not start; its log:\n{log.read_text()[-3000:]}")


def accept_dialogs(page, seen: list):
    """JupyterLab may open a modal dialog at any point of the first load (seen once in CI, covering
    the Run menu): Playwright's handler notes its text and takes its default answer, as a user would."""

    def accept(dialog):
        seen.append(dialog.inner_text()[:300])
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()

    page.add_locator_handler(page.locator(".jp-Dialog"), accept)


def run_notebook_and_move_the_slider(page, url, token, shots, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    dialogs = []
    accept_dialogs(page, dialogs)
    page.goto(f"{url}/lab/tree/notebooks/03_visualisation.ipynb?token={token}")
    idle = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
    page.wait_for_selector(idle, timeout=2 * MINUTE)  # the kernel has started
    # "Run All Cells" acts on the current notebook: give it the focus first (a click on its first
    # cell), then use the menu, and check that the kernel got busy (try the menu once more if not)
    page.locator(".jp-Notebook .jp-Cell").first.click()
    for attempt in range(2):
        page.click("div.lm-MenuBar-itemLabel:text-is('Run')")
        page.click("li.lm-Menu-item:has-text('Run All Cells')")
        try:
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='busy']", timeout=30_000)
            break
        except PlaywrightTimeout:
            if attempt == 1:
                raise
    if dialogs:
        print("JupyterLab dialogs accepted:", dialogs)
    page.wait_for_selector(".widget-image", timeout=5 * MINUTE)  # the viewer's cell has run (~15 s here)
    page.wait_for_selector(idle, timeout=5 * MINUTE)  # and the cells after it

    slider = page.locator(".widget-slider:has(.widget-label:text-is('sample'))")
    image = page.locator(".widget-image").first
    image.scroll_into_view_if_needed()
    before = image.get_attribute("src")
    slider.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")  # sample 0 -> 1, as a user's keyboard would
    page.wait_for_function("([img, old]) => img.src !== old", arg=[image.element_handle(), before], timeout=MINUTE)
    assert slider.locator(".widget-readout").inner_text().strip() == "1"
    page.wait_for_timeout(500)
    for folder in shots:
        folder.mkdir(parents=True, exist_ok=True)
        page.locator(".jp-OutputArea-child:has(.widget-image)").first.screenshot(path=folder / "jupyterlab_viewer.png")
    page.screenshot(path=tmp_path / "jupyterlab_page.png")

    page.keyboard.press("Control+s")  # save, then read what the browser's kernel produced
    page.wait_for_selector(".jp-mod-dirty", state="detached", timeout=MINUTE)


@pytest.mark.slow
def test_notebook_03_runs_in_jupyterlab_and_its_viewer_answers_the_slider(tiny_root, tmp_path):
    chromium = ensure_browser(install=False)  # BrowserMissing says how to get one
    from playwright.sync_api import sync_playwright

    runs = tmp_path / "ablation"
    run_ablation("tiny", data_root=tiny_root, runs_dir=runs, progress=False)
    lab = tmp_path / "lab"  # a copy of the notebooks: saving in the browser leaves the repository's alone
    shutil.copytree(NOTEBOOK_DIR, lab / "notebooks")
    env = {
        **os.environ,
        "HMRLIB_DATA": str(tiny_root),
        "HMRLIB_RUNS": str(runs),
        "HMRLIB_PROFILE": "tiny",
        "HMRLIB_PREDICT_OUT": str(tmp_path / "predict"),
    }
    server, url, token = start_jupyterlab(lab, env, tmp_path / "jupyterlab.log")
    shots = [tmp_path]
    if os.environ.get("HMRLIB_SCREENSHOT_DIR"):
        shots.append(Path(os.environ["HMRLIB_SCREENSHOT_DIR"]))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            try:
                run_notebook_and_move_the_slider(page, url, token, shots, tmp_path)
            except Exception:
                page.screenshot(path=tmp_path / "failure.png")  # what the browser showed when it went wrong
                raise
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
    notebook = json.loads((lab / "notebooks" / "03_visualisation.ipynb").read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(cell["execution_count"] for cell in code), "not every cell ran"
    errors = [o for cell in code for o in cell["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{errors[0]['ename']}: {errors[0]['evalue']}"
    assert (tmp_path / "jupyterlab_viewer.png").stat().st_size > 10_000
