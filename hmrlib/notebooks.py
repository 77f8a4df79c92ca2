"""Running the numbered notebooks headless (the main job and the tests both use this)."""
import os
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def execute_notebook(name: str, out_dir, env: dict | None = None, timeout: int = 1800):
    """Execute ``notebooks/<name>`` top to bottom with the repository as working directory and
    ``env`` added to the kernel's environment; save the executed copy in ``out_dir``."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})  # the kernel inherits this process's environment
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK_DIR.parent)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    out = Path(out_dir) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out)
    return notebook
