import numpy as np
import pytest
import smplx
import torch
from conftest import pose_body

from hmrlib.body import course_to_smplx, load_body_model, smplx_to_course
from hmrlib.body.example_poses import STRIDE_AND_WAVE, make_pose
from hmrlib.skeleton import JOINT_NAMES, PARENTS, mirror_pose


def height(vertices):
    return np.ptp(vertices[..., 1], axis=-1)


def test_standin_loads_through_smplx(standin):
    assert isinstance(standin.smpl, smplx.SMPL)
    assert standin.is_standin and standin.num_betas == 10
    for batch in (1, 3):
        out = standin(
            global_orient=torch.zeros(batch, 3),
            body_pose=torch.zeros(batch, 69),
            betas=torch.zeros(batch, 10),
            transl=torch.ones(batch, 3),
        )
        assert out.vertices.shape == (batch, standin.num_vertices, 3)
        assert out.joints.shape == (batch, 24, 3)
    assert list(standin.parameters()) == []  # nothing for an optimiser to pick up by mistake


def test_wrong_input_shape_is_named(standin):
    with pytest.raises(ValueError, match="body_pose must have shape"):
        standin(global_orient=torch.zeros(2, 3), body_pose=torch.zeros(2, 63), betas=torch.zeros(2, 10))


def test_transl_places_the_pelvis(standin):
    out = standin(
        global_orient=torch.zeros(1, 3),
        body_pose=torch.zeros(1, 69),
        betas=torch.zeros(1, 10),
        transl=torch.tensor([[0.1, 0.2, 3.0]]),
    )
    assert torch.allclose(out.joints[0, 0], torch.tensor([0.1, 0.2, 3.0]), atol=2e-3)


def test_mean_body_is_an_adult(standin):
    assert 1.6 <= height(pose_body(standin, np.zeros(72)))[0] <= 1.8


def test_first_shape_component_controls_height(standin):
    betas = np.zeros((5, 10))
    betas[:, 0] = [-2, -1, 0, 1, 2]
    heights = height(pose_body(standin, np.zeros((5, 72)), betas))
    assert (np.diff(heights) > 0).all()
    assert 1.4 <= heights.min() and heights.max() <= 2.1


def test_tpose_is_symmetric_and_horizontal(standin, standin_arrays):
    perm = standin_arrays["vertex_mirror"]
    rng = np.random.default_rng(0)
    vertices = pose_body(standin, np.zeros((3, 72)), rng.normal(size=(3, 10)))
    mirrored = vertices[:, perm] * [-1, 1, 1]
    assert np.abs(vertices - mirrored).max() < 0.003
    joints = standin_arrays["J_regressor"] @ standin_arrays["v_template"]
    arm = [JOINT_NAMES.index(n) for n in ("left_shoulder", "left_elbow", "left_wrist", "left_hand")]
    assert np.ptp(joints[arm, 1]) < 0.01  # arms horizontal in the zero pose


def test_bending_the_left_elbow_moves_only_the_left_forearm_and_hand(standin, standin_arrays):
    rest = pose_body(standin, np.zeros(72))[0]
    bent = pose_body(standin, make_pose(left_elbow=(0.0, -np.pi / 2, 0.0)))[0]
    moved = np.linalg.norm(bent - rest, axis=1) > 1e-4
    weights = standin_arrays["weights"]
    forearm_and_hand = [JOINT_NAMES.index(n) for n in ("left_elbow", "left_wrist", "left_hand")]
    assert moved.sum() > 300
    assert (weights[moved][:, forearm_and_hand].sum(1) > 0).all()
    joints = standin_arrays["J_regressor"] @ standin_arrays["v_template"]
    shoulder_x, elbow_x = joints[JOINT_NAMES.index("left_shoulder"), 0], joints[JOINT_NAMES.index("left_elbow"), 0]
    assert (rest[moved, 0] > shoulder_x + 0.1).all()  # all on the left arm, past the shoulder
    # skinning blends across the elbow: what moves by more than 1 cm starts at most 7 cm above it
    assert (rest[np.linalg.norm(bent - rest, axis=1) > 0.01, 0] > elbow_x - 0.07).all()
    hand = weights[:, JOINT_NAMES.index("left_hand")] > 0.5
    assert np.linalg.norm(bent[hand] - rest[hand], axis=1).min() > 0.1


def rodrigues(rotvec):
    angle = np.linalg.norm(rotvec) + 1e-12
    k = rotvec / angle
    skew = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * skew + (1 - np.cos(angle)) * skew @ skew


def reference_lbs(arrays, pose, betas):
    """Linear blend skinning written out joint by joint, independently of smplx."""
    shaped = arrays["v_template"] + arrays["shapedirs"][:, :, :10] @ betas
    joints = arrays["J_regressor"] @ shaped
    rotations = [rodrigues(pose[3 * j : 3 * j + 3]) for j in range(24)]
    if "posedirs" in arrays:
        pose_feature = np.concatenate([(r - np.eye(3)).ravel() for r in rotations[1:]])
        shaped = shaped + arrays["posedirs"] @ pose_feature
    world = []
    for j in range(24):
        local = np.eye(4)
        local[:3, :3] = rotations[j]
        local[:3, 3] = joints[j] - (joints[PARENTS[j]] if j else 0)
        world.append(local if j == 0 else world[PARENTS[j]] @ local)
    skinning = []
    for j in range(24):
        transform = world[j].copy()
        transform[:3, 3] -= transform[:3, :3] @ joints[j]  # rotate about the rest joint
        skinning.append(transform)
    blended = np.einsum("vj,jab->vab", arrays["weights"], np.stack(skinning))
    return np.einsum("vab,vb->va", blended[:, :3, :3], shaped) + blended[:, :3, 3]


def test_smplx_matches_an_independent_lbs(standin, standin_arrays):
    rng = np.random.default_rng(1)
    for _ in range(2):
        pose, betas = rng.normal(scale=0.4, size=72), rng.normal(size=10)
        expected = reference_lbs(
            {k: v.astype(np.float64) for k, v in standin_arrays.items() if v.dtype.kind == "f"}, pose, betas
        )
        np.testing.assert_allclose(pose_body(standin, pose, betas)[0], expected, atol=2e-5)


def test_mirrored_pose_gives_the_mirrored_mesh(standin, standin_arrays):
    perm = standin_arrays["vertex_mirror"]
    rng = np.random.default_rng(2)
    poses = np.concatenate([STRIDE_AND_WAVE[None], rng.normal(scale=0.4, size=(2, 72))])
    vertices = pose_body(standin, poses)
    mirrored = pose_body(standin, mirror_pose(torch.as_tensor(poses)).numpy())
    np.testing.assert_allclose(mirrored, vertices[:, perm] * [-1, 1, 1], atol=1e-4)


def test_course_names_round_trip():
    course = {
        "root_orient": np.ones(3),
        "pose_body": np.arange(63.0),
        "pose_hand": -np.ones(6),
        "betas": np.zeros(10),
        "root_loc": np.array([0, 0, 5.0]),
    }
    params = course_to_smplx(course)
    assert params["body_pose"].shape == (69,)
    back = smplx_to_course(params)
    assert all(np.array_equal(back[k], course[k]) for k in course)
    batched = course_to_smplx({k: torch.as_tensor(v)[None] for k, v in course.items()})
    assert batched["body_pose"].shape == (1, 69)


def test_env_var_selects_the_model(monkeypatch, tmp_path, standin_arrays):
    path = tmp_path / "model.npz"
    np.savez(path, **{k: v for k, v in standin_arrays.items() if k != "is_standin"})
    monkeypatch.setenv("HMRLIB_BODY_MODEL", str(tmp_path))
    model = load_body_model()
    assert model.source == str(path) and not model.is_standin


def test_skinning_without_host_reads_equals_smplx(standin):
    """hmrlib's skinning (the kinematic tree as Python integers, no read of a device tensor per
    joint) gives smplx's SMPL forward's vertices and joints, to the bit."""
    generator = torch.Generator().manual_seed(0)
    pose = torch.randn(5, 72, generator=generator) * 0.5
    betas, transl = torch.randn(5, 10, generator=generator), torch.randn(5, 3, generator=generator)
    ours = standin.mesh(pose, betas, transl)
    with torch.no_grad():
        smplx_out = standin.smpl(global_orient=pose[:, :3], body_pose=pose[:, 3:], betas=betas, transl=transl)
    assert torch.equal(ours.vertices, smplx_out.vertices) and torch.equal(ours.joints, smplx_out.joints[:, :24])
    assert isinstance(standin.parents, tuple) and standin.parents[0] == -1
