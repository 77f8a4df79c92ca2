import json

from hmrlib.present.notebooks import execute_notebook


def outputs_of(notebook):
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


def test_preprocessing_notebook_runs_on_the_tiny_set(tiny_root, tmp_path, capfd):
    notebook = execute_notebook("01_preprocessing.ipynb", tmp_path, {"HMRLIB_DATA": str(tiny_root)}, echo=True)
    shown = capfd.readouterr().err  # the main job's terminal: each cell as it starts, and what it prints
    assert "[01_preprocessing.ipynb] cell 1/4: import matplotlib.pyplot as plt" in shown
    assert "[01_preprocessing.ipynb] cell 4/4: table = sample_table(dataset)" in shown
    assert "SynthH36M (synthetic, looks 2): 720 frames" in shown
    assert "without encryption" not in shown  # the kernel runs over local sockets, not TCP
    outputs = outputs_of(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3  # preprocessing steps, ground-truth overlay, statistics
    text = "".join(o.get("text", "") for o in outputs)
    assert "SynthH36M (synthetic, looks 2): 720 frames" in text
    assert (tmp_path / "01_preprocessing.ipynb").exists()


def test_training_and_visualisation_notebooks_in_the_tiny_profile(tiny_root, tmp_path):
    env = {
        "HMRLIB_DATA": str(tiny_root),
        "HMRLIB_PROFILE": "tiny",
        "HMRLIB_RUNS": str(tmp_path / "ablation"),
        "HMRLIB_PREDICT_OUT": str(tmp_path / "predict"),
    }
    notebook = execute_notebook("02_training_ablation.ipynb", tmp_path, env)
    outputs = outputs_of(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    markdown = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "SynthH36M (synthetic, looks 2)" in markdown and "ResNeXt-50 + SuperGAT + Discriminator" in markdown
    # table, training curves, validation curves, schedules, per action
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == 5
    assert "mean pose / mean shape" in (tmp_path / "ablation" / "tiny" / "table1.csv").read_text()
    table = (tmp_path / "ablation" / "tiny" / "table1.md").read_text()
    assert "1 seed: no spread measured" in table and "±" not in table  # one seed claims no spread

    notebook = execute_notebook("03_visualisation.ipynb", tmp_path, env)
    outputs = outputs_of(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)  # the viewer
    # side by side, network vs fitted, best/worst, photographs (network vs fitted)
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == 4
    assert "fitting to keypoints" in "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert any("image/gif" in o.get("data", {}) for o in outputs)  # the turntable
    predicted = tmp_path / "predict"
    assert (predicted / "astronaut_p0.obj").exists() and (predicted / "astronaut_overlay.png").exists()
    assert (predicted / "turntable.gif").exists() and (predicted / "network_only" / "astronaut_p0.json").exists()
    assert "network" in json.loads((predicted / "astronaut_p0.json").read_text())  # predict's default: fitted


def test_settings_find_the_repository_wherever_the_kernel_starts(tmp_path, monkeypatch):
    from hmrlib.constants import REPO_ROOT
    from hmrlib.present.settings import notebook_settings

    for key in ("HMRLIB_DATA", "HMRLIB_RUNS", "HMRLIB_PREDICT_OUT", "HMRLIB_PROFILE", "HMRLIB_SEEDS"):
        monkeypatch.delenv(key, raising=False)
    for start in (REPO_ROOT, REPO_ROOT / "notebooks", tmp_path):
        monkeypatch.chdir(start)
        settings = notebook_settings()
        assert settings.data == REPO_ROOT / "data" / "synth_small"
        assert settings.runs == REPO_ROOT / "runs" / "ablation"
        assert settings.predict_out == REPO_ROOT / "runs" / "predict"
    monkeypatch.setenv("HMRLIB_DATA", "data/synth_tiny")  # relative: from the repository root
    monkeypatch.setenv("HMRLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("HMRLIB_PROFILE", "tiny")
    settings = notebook_settings()
    assert settings.data == REPO_ROOT / "data" / "synth_tiny" and settings.runs == tmp_path / "runs"
    assert settings.profile_runs == tmp_path / "runs" / "tiny"


def test_a_headless_run_leaves_no_kernel_behind(tiny_root, tmp_path):
    """The main job's log ends with its own lines: the kernel is shut down when its notebook is
    done (one left running said 'Parent appears to have exited, shutting down' after the job),
    and it ran over local sockets (a TCP kernel warns that it runs without encryption)."""
    import subprocess
    import sys

    code = (
        "from hmrlib.present.notebooks import execute_notebook\n"
        f"execute_notebook('01_preprocessing.ipynb', {str(tmp_path)!r}, {{'HMRLIB_DATA': {str(tiny_root)!r}}})\n"
        "print('done')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and result.stdout.strip() == "done", result.stderr[-2000:]
    assert "Parent appears to have exited" not in result.stderr and "without encryption" not in result.stderr
