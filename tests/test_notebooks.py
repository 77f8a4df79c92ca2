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
