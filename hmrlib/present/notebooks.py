"""Running the numbered notebooks headless (the main job and the tests both use this).

The kernel starts in ``notebooks/``, as JupyterLab starts it, so a notebook that only works from
the repository root fails here too.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from hmrlib.constants import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"


class EchoingClient(NotebookClient):
    """Prints ``[notebook] cell k/n: first line`` as each code cell starts and mirrors what the
    cells print (the trainer's progress bar included) to this process's stderr."""

    def __init__(self, notebook, name: str, **kwargs):
        super().__init__(notebook, on_cell_start=self._announce, **kwargs)
        self.notebook_name = name
        self.code_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]

    def _announce(self, cell, cell_index, **_):
        if cell.cell_type == "code":
            first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
            position = self.code_cells.index(cell_index) + 1
            where = f"[{self.notebook_name}] cell {position}/{len(self.code_cells)}"
            print(f"\n{where}: {first[:90]}", file=sys.stderr, flush=True)

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream":
            print(msg["content"]["text"], end="", file=sys.stderr, flush=True)
        return super().output(outs, msg, display_id, cell_index)


def execute_notebook(name: str, out_dir, env: dict | None = None, timeout: int | None = None, echo: bool = False):
    """Execute ``notebooks/<name>`` top to bottom with ``env`` added to the kernel's environment
    and save the executed copy in ``out_dir``. ``timeout``: seconds a cell may take (None: no
    limit — a slow machine doing what it should must not fail). ``echo``: show the progress in
    the terminal (see :class:`EchoingClient`)."""
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})  # the kernel inherits this process's environment
    options = {"timeout": timeout, "kernel_name": "python3", "resources": {"metadata": {"path": str(NOTEBOOK_DIR)}}}
    # over local sockets: a TCP kernel warns on every start that it runs without encryption. Their
    # path is absolute: the kernel starts in notebooks/, this process may be anywhere
    sockets = Path(tempfile.mkdtemp(prefix="hmrlib-kernel-")) / "kernel"
    options["km"] = KernelManager(kernel_name="python3", transport="ipc", ip=str(sockets))
    try:
        client = EchoingClient(notebook, name, **options) if echo else NotebookClient(notebook, **options)
        client.execute()
    finally:
        if options["km"].has_kernel:  # a kernel manager we gave is ours to stop: else the kernel
            options["km"].shutdown_kernel(now=False)  # lingers and says so when this process exits
        shutil.rmtree(sockets.parent, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    out = Path(out_dir) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out)
    return notebook
