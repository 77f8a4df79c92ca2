"""Progress bars off a terminal: a line every few percent, not one per update."""

import io

from hmrlib.progress import LINES_PER_BAR, progress_bar


def test_off_a_terminal_a_bar_prints_a_line_every_five_percent():
    log = io.StringIO()  # not a terminal, like a log file or CI
    with progress_bar(1000, desc="steps", file=log) as bar:
        for _ in range(1000):
            bar.update(1)
    lines = [line for line in log.getvalue().split("\n") if line.strip()]
    assert "\r" not in log.getvalue()
    assert LINES_PER_BAR <= len(lines) <= LINES_PER_BAR + 3  # the start, every 5 %, the close
    assert lines[-1].startswith("steps: 100%")


def test_updates_in_batches_still_print_by_share():
    log = io.StringIO()
    with progress_bar(640, file=log) as bar:
        for _ in range(20):
            bar.update(32)
    assert len([line for line in log.getvalue().split("\n") if line.strip()]) <= LINES_PER_BAR + 3


def test_a_slow_bar_keeps_its_pace():
    """tqdm's monitor thread would drop miniters to 1 after maxinterval seconds without a print."""
    log = io.StringIO()
    with progress_bar(100, file=log) as bar:
        assert bar.maxinterval == float("inf") and bar.miniters == 5
