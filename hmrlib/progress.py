"""Progress bars that stay readable in a log file.

On a terminal, tqdm's bar redraws itself in place. Elsewhere — a log file, CI, the main job
mirroring a notebook kernel's output, a notebook's own stderr — each redraw would become a line of
its own, thousands per run; there the bar prints a line every 5 % of its total instead.
"""

import math
import sys

LINES_PER_BAR = 20  # off a terminal: one line every 100 / 20 = 5 %


class _OneLinePerUpdate:
    """A text stream for tqdm off a terminal: each redraw ('\\r' + bar) starts a new line."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str):
        return self.stream.write(text.replace("\r", "\n").replace("\n\n", "\n"))

    def flush(self):
        self.stream.flush()


def progress_bar(total=None, **kwargs):
    """``tqdm(total=total, **kwargs)``; off a terminal, a line every few percent of ``total``."""
    from tqdm import tqdm

    stream = kwargs.pop("file", None) or sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        stream = _OneLinePerUpdate(stream)
        if total:
            kwargs.setdefault("miniters", max(1, math.ceil(total / LINES_PER_BAR)))
            kwargs.setdefault("mininterval", 0)  # print by count only: every miniters updates
            # tqdm's monitor thread sets miniters to 1 when a bar has not printed for maxinterval
            # seconds (10 by default): a slow bar would print every update again
            kwargs.setdefault("maxinterval", float("inf"))
    return tqdm(total=total, file=stream, **kwargs)
