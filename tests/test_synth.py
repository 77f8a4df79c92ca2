import dataclasses
import json

import numpy as np
import pytest
import torch
from scipy.ndimage import binary_dilation

from hmrlib.body import course_to_smplx
from hmrlib.camera import Intrinsics
from hmrlib.data.actions import generate_action
from hmrlib.data.dataset import H36MDataset
from hmrlib.data.files import read_params
from hmrlib.data.h36m import ACTIONS, CAMERAS, image_path, is_synthetic, params_path
from hmrlib.data.motions import LIMITS
from hmrlib.data.synth import SynthConfig, _Worker, describe, generate


def test_tiny_set_has_the_course_layout(tiny_root):
    assert is_synthetic(tiny_root)
    npz = sorted((tiny_root / "H36M_data_st").rglob("*.npz"))
    jpg = sorted((tiny_root / "H36M").rglob("*.jpg"))
    assert len(npz) == len(jpg) == 3 * 15 * 4 * 4 <= 750
    assert params_path(tiny_root, "S9", "Walking.60457274", 3).exists()
    assert image_path(tiny_root, "S9", "Walking.60457274", 3).name == "000004.jpg"
    with np.load(npz[0]) as params:
        assert {k: params[k].size for k in params.files} == {
            "betas": 10,
            "root_loc": 3,
            "root_orient": 3,
            "pose_body": 63,
            "pose_hand": 6,
            "center_img": 2,
            "scale_img": 1,
        }


def test_ground_truth_projects_onto_the_rendered_body(tiny_root, standin):
    """Vertices rebuilt from the npz files alone, projected with the scaled H36M intrinsics, land
    on the rendered silhouette — in every camera."""
    config = SynthConfig(size="tiny")
    worker = _Worker(config, tiny_root / "reproj")
    silhouettes = {}
    for action in ("Walking", "Directions", "Photo"):
        worker.run("S1", action, silhouettes=silhouettes)
    manifest = json.loads((tiny_root / "synth_manifest.json").read_text())
    for camera in CAMERAS:
        c = manifest["cameras"][camera]
        intrinsics = Intrinsics(c["fx"], c["fy"], c["cx"], c["cy"], c["width"], c["height"])
        for (subject, sequence, frame), mask in silhouettes.items():
            if not sequence.endswith(camera):
                continue
            params = read_params(params_path(tiny_root / "reproj", subject, sequence, frame))
            with torch.no_grad():
                vertices = (
                    standin(
                        **{k: torch.as_tensor(v, dtype=torch.float32)[None] for k, v in course_to_smplx(params).items()}
                    )
                    .vertices[0]
                    .numpy()
                )
            u, v = np.round(intrinsics.project(vertices)).astype(int).T
            visible = (u >= 0) & (u < c["width"]) & (v >= 0) & (v < c["height"])
            assert visible.mean() > 0.5
            on_body = binary_dilation(mask)[v[visible], u[visible]]  # one pixel for the silhouette's edge
            assert on_body.mean() >= 0.95, (sequence, frame, on_body.mean())


def test_generation_is_deterministic_and_resumable(tmp_path, tiny_root):
    config = SynthConfig(size="tiny")
    marker = tiny_root / ".synth" / "S1.Walking.done"
    assert marker.exists()
    assert generate(tiny_root, config, processes=1, progress=False) == 0  # everything done already
    out = tmp_path / "again"
    (out / ".synth").mkdir(parents=True)
    for action in ACTIONS:
        if action != "Walking":
            (out / ".synth" / f"S1.{action}.done").touch()
        for subject in ("S8", "S9"):
            (out / ".synth" / f"{subject}.{action}.done").touch()
    assert generate(out, config, processes=1, progress=False) == 16  # only S1 Walking was left
    for frame in range(4):
        a = dict(np.load(params_path(out, "S1", "Walking.55011271", frame)))
        b = dict(np.load(params_path(tiny_root, "S1", "Walking.55011271", frame)))
        assert all(np.array_equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="already holds SynthH36M"):
        generate(out, SynthConfig(size="tiny", seed=1), processes=1, progress=False)


def test_small_renders_few_frames_of_the_held_out_subjects(tmp_path, tiny_root):
    config = SynthConfig(size="small")
    frames = {subject: config.frames_of(subject) for subject in config.subjects}
    assert frames == {"S1": 48, "S5": 48, "S6": 48, "S7": 48, "S8": 8, "S9": 8, "S11": 8}
    assert sum(frames.values()) * len(ACTIONS) * len(CAMERAS) == 12_960  # (4 x 48 + 3 x 8) x 15 x 4
    # a folder rendered with the older layout (every subject 48 frames) is refused, not mixed
    manifest = json.loads((tiny_root / "synth_manifest.json").read_text())
    del manifest["frames_per_sequence"]
    (tmp_path / "synth_manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="older layout"):
        generate(tmp_path, SynthConfig(size="tiny"), processes=1, progress=False)


def test_small_spreads_its_fitting_frames_and_refuses_a_consecutive_folder(tmp_path):
    """small's fitting subjects default to one frame in six (more distinct poses per image); a
    folder made before frame_step existed held consecutive frames and must not be resumed as if
    it were spread."""
    small = SynthConfig(size="small")
    assert small.frame_step == 6 and small.step_of("S1") == 6 and small.step_of("S8") == 6
    assert SynthConfig(size="tiny").frame_step == 1 and SynthConfig(size="small", frame_step=1).frame_step == 1
    old = {"config": {k: v for k, v in dataclasses.asdict(small).items() if k != "frame_step"}}
    old["frames_per_sequence"] = {subject: small.frames_of(subject) for subject in small.subjects}
    (tmp_path / "synth_manifest.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match="'frame_step': 1"):
        generate(tmp_path, small, processes=1, progress=False)
    for bad in ({"size": "medium"}, {"frame_step": 0}):
        with pytest.raises(ValueError, match="size|frame_step"):
            SynthConfig(**bad)


def test_a_folder_made_before_the_new_looks_opens_and_says_so(tmp_path, tiny_root):
    """Looks 2 (issue 17) changes the people; a folder of looks 1 still opens, says which looks
    made it, and is not resumed with the new ones."""
    old = tmp_path / "old"
    old.mkdir()
    manifest = json.loads((tiny_root / "synth_manifest.json").read_text())
    del manifest["config"]["looks"]
    (old / "synth_manifest.json").write_text(json.dumps(manifest))
    assert describe(old).startswith("SynthH36M tiny (looks 1: one body and outfit per subject")
    assert describe(tiny_root).startswith("SynthH36M tiny (looks 2: a body and outfit per sequence")
    with pytest.raises(ValueError, match="'looks': 1"):
        generate(old, SynthConfig(size="tiny"), processes=1, progress=False)
    with pytest.raises(ValueError, match="looks must be one of 1, 2"):
        SynthConfig(looks=3)


def test_looks_2_dress_each_sequence_anew_with_a_front_unlike_the_back(tiny_root):
    from hmrlib.skeleton import JOINT_NAMES

    new, old = _Worker(SynthConfig(size="tiny"), tiny_root), _Worker(SynthConfig(size="tiny", looks=1), tiny_root)
    betas_walk, colours_walk = new.subject("S1", "Walking")
    betas_eat, colours_eat = new.subject("S1", "Eating")
    assert not np.allclose(betas_walk, betas_eat) and not np.allclose(colours_walk, colours_eat)
    assert np.allclose(old.subject("S1", "Walking")[0], old.subject("S1", "Eating")[0])
    rest = new.body.smpl.v_template.numpy()
    chest = np.array(JOINT_NAMES)[new.body.smpl.lbs_weights.numpy().argmax(1)] == "spine2"
    front, back = chest & (rest[:, 2] > 0.1), chest & (rest[:, 2] < 0.0)

    def front_back_difference(colours):
        return np.abs(colours[front, :3].mean(0) - colours[back, :3].mean(0)).sum()

    assert front_back_difference(colours_walk) > 0.1
    assert front_back_difference(old.subject("S1", "Walking")[1]) < 0.05


def test_frame_step_changes_the_fitting_subjects_only(tmp_path, tiny_root):
    """Spreading the fitting subjects' frames in time leaves validation and test frames as they
    were, so runs on both folders are scored on the same frames."""
    out = tmp_path / "step2"
    (out / ".synth").mkdir(parents=True)
    for action in ACTIONS:
        for subject in ("S1", "S8", "S9"):
            if action != "Walking" or subject == "S9":
                (out / ".synth" / f"{subject}.{action}.done").touch()
    assert generate(out, SynthConfig(size="tiny", frame_step=2), processes=1, progress=False) == 32
    sequence = "Walking.55011271"
    for frame in range(4):
        held_out = [dict(np.load(params_path(root, "S8", sequence, frame))) for root in (out, tiny_root)]
        assert all(np.array_equal(held_out[0][k], held_out[1][k]) for k in held_out[0])
    fitting = [np.load(params_path(root, "S1", sequence, 3))["pose_body"] for root in (out, tiny_root)]
    assert not np.allclose(*fitting)


@pytest.mark.parametrize("action", ACTIONS)
def test_motions_are_smooth_and_within_limits(action):
    t = np.arange(1000) / 50.0  # 20 s at H36M's 50 fps; the dataset keeps every 10th frame
    motion = generate_action(action, t, np.random.default_rng(3))
    assert motion.body_pose.shape == (1000, 69) and np.isfinite(motion.body_pose).all()
    step = np.abs(np.diff(motion.body_pose, axis=0)).max()
    assert step < 0.15  # no joint jumps by more than ~9 degrees in 20 ms
    assert np.ptp(motion.body_pose, axis=0).max() > 0.1  # something moves
    assert np.abs(np.diff(motion.floor_position, axis=0)).max() < 0.05  # under 2.5 m/s
    assert np.abs(motion.body_pose).max() < max(hi for angles in LIMITS.values() for _, hi in angles.values()) + 1.0
    other = generate_action(action, t, np.random.default_rng(4))
    assert not np.allclose(other.body_pose, motion.body_pose)  # repetitions differ


def test_loader_serves_every_action_and_camera(tiny_root):
    dataset = H36MDataset(tiny_root, image_size=96, with_vertices=True)
    assert len(dataset) == 720
    item = dataset[17]
    assert item["image"].shape == (3, 96, 96) and 0 <= item["image"].min() and item["image"].max() <= 1
    assert item["vertices"].shape == (13348, 3) and item["joints"].shape == (24, 3)
    assert {a for _, s, _ in dataset.keys for a in [s.split(".")[0]]} == set(ACTIONS)
    assert torch.allclose(item["joints"][0], item["transl"], atol=0.05)  # transl is where the pelvis is
    filtered = H36MDataset(tiny_root, subjects=["S9"], actions=["Walking"], cameras=["58860488"])
    assert [filtered.sample_id(i) for i in range(len(filtered))] == [f"S9/Walking.58860488/{f}.npz" for f in range(4)]
