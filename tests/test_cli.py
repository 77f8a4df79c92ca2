"""The command line as a user meets it: expected errors are one line and exit status 2."""

import pickle
import subprocess
import sys

import pytest


def hmrlib(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "hmrlib", *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd
    )


class Hostile:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize("case", ["missing checkpoint", "hostile checkpoint", "missing data"])
def test_expected_errors_are_one_line_with_status_2(tmp_path, case):
    if case == "missing checkpoint":
        result = hmrlib("predict", tmp_path / "photo.png", "--checkpoint", tmp_path / "nonexistent.pt")
        expected = "nonexistent.pt: no such checkpoint"
    elif case == "hostile checkpoint":
        (tmp_path / "hostile.pt").write_bytes(pickle.dumps(Hostile()))
        result = hmrlib("predict", tmp_path / "photo.png", "--checkpoint", tmp_path / "hostile.pt")
        expected = "hostile.pt: not a readable hmrlib checkpoint"
        assert "this must never run" not in result.stdout
    else:
        result = hmrlib("train", "--profile", "tiny", "--data", tmp_path / "nonexistent", "--run-dir", tmp_path / "run")
        expected = "nonexistent/H36M_data_st does not exist"
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hmrlib: error: ") and expected in lines[0], result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = hmrlib("--debug", "predict", tmp_path / "photo.png", "--checkpoint", tmp_path / "nonexistent.pt")
    assert result.returncode != 0 and "Traceback" in result.stderr and "CheckpointError" in result.stderr


def test_help_lists_every_command():
    """Each command on a line of its own, followed by its help (a substring test passed for
    'train' inside 'contact-sheet ... trained' or the usage line's list)."""
    import re

    from hmrlib.__main__ import build_parser

    result = hmrlib("--help")
    assert result.returncode == 0
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"synth", "train", "evaluate", "submission", "ablation", "predict", "reproduce"} <= set(commands)
    for command in commands:
        assert re.search(rf"^    {re.escape(command)}\s+\S", result.stdout, re.MULTILINE), command
