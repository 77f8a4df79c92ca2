"""Procedural motions modelled on Human3.6M's 15 actions.

Each action is a function of (t (T,) seconds, rng) returning anatomical angles per joint as smooth
curves — sums of a few slow sinusoids with random phases, cycles for gait, cosine blends between
key poses — so sequences are continuous in time and every repetition differs. Angles are clamped
to the joint limits in ``LIMITS`` and turned into SMPL axis-angle by :func:`angles_to_pose`.

Anatomical angles (radians) and their SMPL axes (x: body's left, y: up, z: forward):
  flex  — forward flexion (hip/shoulder: limb forward; knee: shin back; elbow: forearm forward;
          spine/neck/head: bend forward)
  abd   — abduction (limb away from the body's midline; spine/neck: lean to the body's left)
  twist — rotation about the limb or spine (spine/neck/head: turn to the body's left)
Arms start from SMPL's T-pose, so a relaxed arm hanging down is shoulder abd = -1.35.
"""

import numpy as np
from scipy.spatial.transform import Rotation

from hmrlib.skeleton import JOINT_NAMES

LIMITS = {  # (min, max) per angle
    "hip": {"flex": (-0.5, 2.1), "abd": (-0.35, 0.8), "twist": (-0.5, 0.5)},
    "knee": {"flex": (0.0, 2.4)},
    "ankle": {"flex": (-0.5, 0.7)},
    "spine": {"flex": (-0.3, 0.6), "abd": (-0.3, 0.3), "twist": (-0.45, 0.45)},
    "neck": {"flex": (-0.5, 0.6), "abd": (-0.3, 0.3), "twist": (-0.7, 0.7)},
    "collar": {"abd": (-0.2, 0.35), "flex": (-0.2, 0.3)},
    "shoulder": {"flex": (-0.9, 2.6), "abd": (-1.5, 1.6), "twist": (-0.9, 0.9)},
    "elbow": {"flex": (0.0, 2.5), "twist": (-0.8, 0.8)},
    "wrist": {"flex": (-0.8, 0.8), "abd": (-0.3, 0.3)},
}
ARM_DOWN = -1.35


def _limit_kind(joint: str) -> str:
    base = joint.split("_", 1)[-1]
    return {"spine1": "spine", "spine2": "spine", "spine3": "spine", "head": "neck"}.get(base, base)


def _elementary(joint: str, angles: dict) -> Rotation:
    """The rotation of one joint from its anatomical angles (each (T,)), in SMPL axes."""
    side = 1.0 if joint.startswith("left") else -1.0 if joint.startswith("right") else 0.0
    kind = _limit_kind(joint)
    flex = angles.get("flex", 0.0)
    abd = angles.get("abd", 0.0)
    twist = angles.get("twist", 0.0)
    T = max(np.size(a) for a in (flex, abd, twist))
    vec = lambda axis, a: np.asarray(axis, float) * np.broadcast_to(a, (T,))[:, None]  # noqa: E731
    if kind in ("hip",):  # leg hangs along -y
        return (
            Rotation.from_rotvec(vec([-1, 0, 0], flex))
            * Rotation.from_rotvec(vec([0, 0, side], abd))
            * Rotation.from_rotvec(vec([0, side, 0], twist))
        )
    if kind in ("knee",):
        return Rotation.from_rotvec(vec([1, 0, 0], flex))
    if kind == "ankle":
        return Rotation.from_rotvec(vec([1, 0, 0], flex))
    if kind in ("spine", "neck"):
        return (
            Rotation.from_rotvec(vec([0, 1, 0], twist))
            * Rotation.from_rotvec(vec([1, 0, 0], flex))
            * Rotation.from_rotvec(vec([0, 0, -1], abd))
        )
    if kind == "collar":  # shrug (raise the shoulder) and protraction
        return Rotation.from_rotvec(vec([0, 0, side], abd)) * Rotation.from_rotvec(vec([0, -side, 0], flex))
    if kind == "shoulder":  # arm along side*x in the T-pose; abd raises it, flex swings it forward
        swing_forward = Rotation.from_rotvec(vec([-1, 0, 0], flex))
        raise_side = Rotation.from_rotvec(vec([0, 0, side], abd))
        spin = Rotation.from_rotvec(vec([side, 0, 0], twist))
        return swing_forward * raise_side * spin
    if kind == "elbow":  # forearm along side*x; flexion brings it forward (palms down in T-pose)
        return Rotation.from_rotvec(vec([0, -side, 0], flex)) * Rotation.from_rotvec(vec([side, 0, 0], twist))
    if kind == "wrist":
        return Rotation.from_rotvec(vec([0, 0, -side], flex)) * Rotation.from_rotvec(vec([0, side, 0], abd))
    raise KeyError(joint)


def angles_to_pose(angles: dict, num_frames: int) -> np.ndarray:
    """{joint name: {angle name: (T,) or scalar}} -> body pose (T, 69), joints 1..23, clamped."""
    pose = np.zeros((num_frames, len(JOINT_NAMES), 3))
    for joint, values in angles.items():
        limits = LIMITS[_limit_kind(joint)]
        clamped = {}
        for name, value in values.items():
            if name not in limits:
                raise KeyError(f"{joint} has no angle '{name}'")
            clamped[name] = np.clip(np.broadcast_to(value, (num_frames,)), *limits[name])
        pose[:, JOINT_NAMES.index(joint)] = _elementary(joint, clamped).as_rotvec()
    return pose[:, 1:].reshape(num_frames, -1)


def smooth(t, rng, amplitude, freq=(0.1, 0.5), terms=3, offset=0.0):
    """A slow random curve: sum of sinusoids with random frequency and phase, std ≈ amplitude."""
    curve = np.zeros_like(t)
    for _ in range(terms):
        curve += np.sin(2 * np.pi * rng.uniform(*freq) * t + rng.uniform(0, 2 * np.pi))
    return offset + amplitude * curve * np.sqrt(2.0 / terms)


def blend_keyposes(t, rng, keyposes: list, hold=(1.0, 2.5), move=(0.6, 1.2)):
    """Hold random key poses and move between them with cosine ease; keyposes are angle dicts."""
    schedule, now, current = [], t[0], rng.integers(len(keyposes))
    while now <= t[-1] + 3.0:
        nxt = (current + rng.integers(1, len(keyposes))) % len(keyposes)
        h, m = rng.uniform(*hold), rng.uniform(*move)
        schedule.append((now + h, now + h + m, current, nxt))
        now, current = now + h + m, nxt
    weights = np.zeros((len(t), len(keyposes)))
    weights[:, schedule[0][2]] = 1.0
    for start, end, a, b in schedule:
        w = np.clip((t - start) / (end - start), 0, 1)
        w = 0.5 - 0.5 * np.cos(np.pi * w)
        moving = w > 0
        weights[moving] = 0.0
        weights[moving, a] = 1 - w[moving]
        weights[moving, b] += w[moving]
    out = {}
    for k, pose in enumerate(keyposes):
        for joint, values in pose.items():
            for name, value in values.items():
                out.setdefault(joint, {}).setdefault(name, np.zeros_like(t))
                out[joint][name] = out[joint][name] + weights[:, k] * value
    return out


def merge(*parts):
    """Sum angle dicts: later parts add to earlier ones."""
    out = {}
    for part in parts:
        for joint, values in part.items():
            for name, value in values.items():
                out.setdefault(joint, {})[name] = out.get(joint, {}).get(name, 0.0) + value
    return out
