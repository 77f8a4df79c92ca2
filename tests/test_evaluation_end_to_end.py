"""evaluate and submission from a trained model to their files, checked against independent
computations: each prediction with its own id, the submission re-scored with the course metric,
and course-style test files that hold no pose or shape."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from hmrlib.body import course_to_smplx
from hmrlib.data.dataset import H36MDataset
from hmrlib.evaluation.evaluate import evaluate_generator
from hmrlib.evaluation.submission import write_submission
from hmrlib.train import Trainer, profile
from hmrlib.train.trained import load_trained


@pytest.fixture(scope="module")
def trained(tiny_root, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    Trainer(profile("tiny", "resnet50", data_root=tiny_root), run, progress=False).run()
    return load_trained(run / "checkpoints" / "best.pt", device="cpu")


def course_vertices(body, params: dict) -> torch.Tensor:
    """(N, V, 3) from course-named parameters (N, ...) as the course's metric builds them."""
    smplx = {k: torch.as_tensor(np.asarray(v), dtype=torch.float32) for k, v in course_to_smplx(params).items()}
    with torch.no_grad():
        return body(**smplx).vertices


def test_evaluate_pairs_each_prediction_with_its_own_frame(trained, tiny_root, tmp_path):
    """On an unsorted subset of indices, each row's MSE equals the one computed for its id alone
    (one image through the network, one mesh against that frame's labels): rules out predictions
    shuffled against their ids, and labels scored against themselves (MSE 0)."""
    dataset = H36MDataset(tiny_root, subjects=["S9"], image_size=trained.config.data.image_size)
    indices = [40, 3, 17, 5, 200]
    evaluate_generator(trained.generator, dataset, trained.body, out_dir=tmp_path, indices=indices)
    rows = pd.read_csv(tmp_path / "per_sample.csv")
    for index, row in zip(indices, rows.itertuples()):
        assert row.id == dataset.sample_id(index)
        with torch.no_grad():
            out = trained.generator.eval()(dataset[index]["image"][None])
            labels = dataset.labels(index)
            predicted = trained.body.mesh(out.pose, out.betas, labels["transl"]).vertices
            truth = trained.body(**labels).vertices
        assert row.mse_m2 == pytest.approx((predicted - truth).square().mean().item(), rel=1e-4)
    assert rows.mse_m2.min() > 0 and rows.mse_m2.nunique() == len(indices)


def test_a_submission_rescored_with_the_course_metric_equals_evaluate(trained, tiny_root, tmp_path):
    """results.csv read back as the course reads it and scored with its metric (mean over frames x
    vertices x 3 of the squared error, both meshes at the file's root_loc) equals evaluate's MSE:
    rules out a submission of other frames' or of the mean pose's parameters, or in other units."""
    config = trained.config.data
    path = write_submission(
        trained.generator, tiny_root, tmp_path / "results.csv", subjects=["S9"], image_size=config.image_size
    )
    results = pd.read_csv(path)
    submitted = {key: np.array([json.loads(v) for v in results[key]]) for key in results.columns[1:]}
    files = [np.load(tiny_root / "H36M_data_st" / sample) for sample in results.id]
    truth = {key: np.stack([f[key] for f in files]) for key in submitted}
    mse = (course_vertices(trained.body, submitted) - course_vertices(trained.body, truth)).square().mean().item()
    dataset = H36MDataset(tiny_root, subjects=["S9"], image_size=config.image_size)
    summary = evaluate_generator(trained.generator, dataset, trained.body)
    assert mse == pytest.approx(summary.mse_m2.iloc[0], rel=1e-4)
    assert np.allclose(submitted["root_loc"], truth["root_loc"], atol=1e-6)


def test_a_submission_for_test_files_without_pose_or_shape(trained, tiny_root, tmp_path):
    """The course's test files carry only root_loc and the box: the submission is written, and
    equals the one made from labelled files of the same frames."""
    hidden = tmp_path / "course"
    shutil.copytree(tiny_root / "H36M" / "S9", hidden / "H36M" / "S9")
    for npz in (tiny_root / "H36M_data_st" / "S9").rglob("*.npz"):
        target = hidden / "H36M_data_st" / npz.relative_to(tiny_root / "H36M_data_st")
        target.parent.mkdir(parents=True, exist_ok=True)
        with np.load(npz) as values:
            np.savez(target, **{k: values[k] for k in ("root_loc", "center_img", "scale_img")})
    for name in ("cameras.json", "synth_manifest.json"):
        if (tiny_root / name).exists():
            shutil.copy(tiny_root / name, hidden / name)
    size = trained.config.data.image_size
    written = write_submission(trained.generator, hidden, tmp_path / "hidden.csv", subjects=["S9"], image_size=size)
    labelled = write_submission(
        trained.generator, tiny_root, tmp_path / "labelled.csv", subjects=["S9"], image_size=size
    )
    a, b = pd.read_csv(written), pd.read_csv(labelled)
    assert len(a) == 240 and a.equals(b)


def test_evaluate_reports_fitting_as_rows_of_its_own_and_perfect_keypoints_lower_the_error(tiny_root, tmp_path, capsys):
    """evaluate --fit labels: the network's rows as before, and '+ fitting' rows of their own,
    each frame fitted to its labels' projected joints: with perfect 2D the fit must bring the
    joints closer than the network's answer. The full model's best.pt carries its discriminators,
    the fit's optional prior; a checkpoint without them refuses that prior in one line."""
    from hmrlib.__main__ import main

    run = tmp_path / "run"
    Trainer(profile("tiny", "resnext_supergat_disc", data_root=tiny_root), run, progress=False).run()
    best = run / "checkpoints" / "best.pt"
    assert torch.load(best, weights_only=True)["discriminator"] is not None
    out = tmp_path / "evaluation"
    args = ["evaluate", "--checkpoint", str(best), "--data", str(tiny_root), "--subjects", "S9", "--out", str(out)]
    assert main([*args, "--fit", "labels", "--fit-prior", "discriminator"]) in (None, 0)
    assert "+ fitting (labels keypoints, prior discriminator" in capsys.readouterr().out
    network, fitted = pd.read_csv(out / "per_sample.csv"), pd.read_csv(out / "per_sample_fitted.csv")
    assert list(network["id"]) == list(fitted["id"])
    assert fitted["mpjpe_mm"].mean() < 0.8 * network["mpjpe_mm"].mean()
    assert fitted["orient_err_deg"].median() < network["orient_err_deg"].median()
    assert pd.read_csv(out / "summary_fitted.csv")["fit_kept"].iloc[0] > 0.9


def test_the_discriminator_prior_needs_a_discriminator(tiny_root, tmp_path, capsys):
    """A ResNet-50 run trains no discriminator: --fit-prior discriminator is one line, before any work."""
    from hmrlib.__main__ import main

    run = tmp_path / "run"
    Trainer(profile("tiny", "resnet50", data_root=tiny_root), run, progress=False).run()
    best = str(run / "checkpoints" / "best.pt")
    args = ["evaluate", "--checkpoint", best, "--data", str(tiny_root), "--out", str(tmp_path / "e")]
    assert main([*args, "--fit", "labels", "--fit-prior", "discriminator"]) == 2
    assert capsys.readouterr().err.strip().endswith("has no discriminator (a full-model run has)")
    assert not (tmp_path / "e").exists()
