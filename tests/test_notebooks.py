from hmrlib.notebooks import execute_notebook


def outputs_of(notebook):
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


def test_preprocessing_notebook_runs_on_the_tiny_set(tiny_root, tmp_path):
    notebook = execute_notebook("01_preprocessing.ipynb", tmp_path, {"HMRLIB_DATA": str(tiny_root)})
    outputs = outputs_of(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3  # preprocessing steps, ground-truth overlay, statistics
    text = "".join(o.get("text", "") for o in outputs)
    assert "SynthH36M (synthetic): 480 frames" in text
    assert (tmp_path / "01_preprocessing.ipynb").exists()


def test_training_and_visualisation_notebooks_in_the_tiny_profile(tiny_root, tmp_path):
    env = {"HMRLIB_DATA": str(tiny_root), "HMRLIB_PROFILE": "tiny", "HMRLIB_RUNS": str(tmp_path / "ablation"),
           "HMRLIB_PREDICT_OUT": str(tmp_path / "predict")}
    notebook = execute_notebook("02_training_ablation.ipynb", tmp_path, env)
    outputs = outputs_of(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    markdown = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "SynthH36M (synthetic)" in markdown and "ResNeXt-50 + SuperGAT + Discriminator" in markdown
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == 4  # table, curves, schedules, per action
    assert "mean pose / mean shape" in (tmp_path / "ablation" / "tiny" / "table1.csv").read_text()

    notebook = execute_notebook("03_visualisation.ipynb", tmp_path, env)
    outputs = outputs_of(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)  # the viewer
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == 3  # side by side, best/worst, photographs
    assert any("image/gif" in o.get("data", {}) for o in outputs)  # the turntable
    assert (tmp_path / "predict" / "astronaut.obj").exists() and (tmp_path / "predict" / "turntable.gif").exists()
