"""The 15 Human3.6M actions as procedural motion generators.

``generate_action(action, t, rng)`` returns a :class:`Motion`: body pose (T, 69) axis-angle,
global orientation (T, 3) in the world (y up), and the pelvis position on the floor (T, 2) as
(x, z) in metres. Root height is left to the renderer, which stands the feet on the floor.
"""

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from hmrlib.data.h36m import ACTIONS
from hmrlib.data.motions import ARM_DOWN, angles_to_pose, blend_keyposes, merge, smooth

ROOM_HALF_SIZE = 2.0  # metres: the person stays within |x|, |z| <= this


@dataclass
class Motion:
    body_pose: np.ndarray  # (T, 69)
    global_orient: np.ndarray  # (T, 3)
    floor_position: np.ndarray  # (T, 2) pelvis (x, z)


def _both(name, **angles):
    return {f"left_{name}": dict(angles), f"right_{name}": dict(angles)}


def relaxed_stand(t, rng):
    """Arms hanging, slight sway, weight shifting from foot to foot, looking around."""
    shift = smooth(t, rng, 0.05, freq=(0.05, 0.2))
    return merge(
        _both("shoulder", abd=ARM_DOWN + 0.1, flex=0.05),
        {"left_shoulder": {"flex": smooth(t, rng, 0.05)}, "right_shoulder": {"flex": smooth(t, rng, 0.05)}},
        _both("elbow", flex=0.25),
        {"left_elbow": {"flex": smooth(t, rng, 0.08)}, "right_elbow": {"flex": smooth(t, rng, 0.08)}},
        {"left_hip": {"abd": 0.05 + shift}, "right_hip": {"abd": 0.05 - shift}},
        {"spine2": {"abd": -shift, "flex": smooth(t, rng, 0.03)}, "spine3": {"twist": smooth(t, rng, 0.05)}},
        {"neck": {"twist": smooth(t, rng, 0.25, freq=(0.05, 0.3)), "flex": smooth(t, rng, 0.1)}},
        {"head": {"twist": smooth(t, rng, 0.15, freq=(0.05, 0.3)), "abd": smooth(t, rng, 0.05)}},
    )


def gait(t, rng, speed, arm_swing=1.0):
    """Walking cycle whose stride grows with ``speed`` (T,) in m/s."""
    cadence = 0.55 + 0.3 * speed  # strides per second
    phase = 2 * np.pi * np.cumsum(cadence) * np.gradient(t) + rng.uniform(0, 2 * np.pi)
    stride = np.clip(speed / 1.2, 0, 1.2)
    parts = {}
    for side, offset in (("left", 0.0), ("right", np.pi)):
        p = phase + offset
        parts[f"{side}_hip"] = {"flex": 0.05 + 0.38 * stride * np.sin(p), "abd": 0.04}
        parts[f"{side}_knee"] = {"flex": 0.1 + stride * (0.15 + 0.75 * np.maximum(0, np.cos(p + 0.5)) ** 2)}
        parts[f"{side}_ankle"] = {"flex": 0.15 * stride * np.sin(p - 0.6)}
        parts[f"{side}_shoulder"] = {"flex": -0.32 * arm_swing * stride * np.sin(p), "abd": ARM_DOWN + 0.12}
        parts[f"{side}_elbow"] = {"flex": 0.3 + 0.2 * arm_swing * stride * (1 - np.sin(p))}
    parts["spine1"] = {"twist": 0.08 * stride * np.sin(phase), "flex": 0.04}
    parts["neck"] = {"twist": smooth(t, rng, 0.15, freq=(0.05, 0.2))}
    return parts


def loop_path(t, rng, speed):
    """A closed walk around the room (ellipse), heading along the path."""
    radius_x, radius_z = rng.uniform(1.0, 1.7), rng.uniform(1.0, 1.7)
    distance = np.cumsum(speed * np.gradient(t)) + rng.uniform(0, 10)
    direction = rng.choice([-1.0, 1.0])
    angle = direction * distance / (0.5 * (radius_x + radius_z))
    position = np.stack([radius_x * np.sin(angle), radius_z * np.cos(angle)], 1)
    velocity = np.gradient(position, t, axis=0)
    yaw = np.unwrap(np.arctan2(velocity[:, 0], velocity[:, 1]))
    return position, yaw


def wander(t, rng, reach=0.35):
    """Standing somewhere in the room, drifting and turning slowly."""
    centre = rng.uniform(-0.8, 0.8, size=2)
    position = centre + np.stack(
        [smooth(t, rng, reach, freq=(0.03, 0.12)), smooth(t, rng, reach, freq=(0.03, 0.12))], 1
    )
    yaw = rng.uniform(-np.pi, np.pi) + smooth(t, rng, 0.8, freq=(0.02, 0.1))
    return position, yaw


def hand_to_face_cycle(t, rng, period=(3.0, 5.0), hold=0.3):
    """0 -> 1 -> 0 repeatedly (raised cosine with a hold at 1): a hand going to the mouth and back."""
    freq = 1.0 / rng.uniform(*period)
    c = 0.5 - 0.5 * np.cos(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    return np.clip(c * (1 + hold), 0, 1)


SIT = merge(_both("hip", flex=1.5, abd=0.1), _both("knee", flex=1.55), {"spine1": {"flex": 0.05}})


def directions(t, rng):
    point_left = {"left_shoulder": {"flex": 1.3, "abd": -0.2}, "left_elbow": {"flex": 0.1}, "neck": {"twist": 0.3}}
    point_right = {"right_shoulder": {"flex": 1.1, "abd": -0.1}, "right_elbow": {"flex": 0.15}, "neck": {"twist": -0.3}}
    point_side = {"right_shoulder": {"abd": 1.35, "flex": 0.2}, "right_elbow": {"flex": 0.1}, "neck": {"twist": -0.6}}
    return merge(relaxed_stand(t, rng), blend_keyposes(t, rng, [{}, point_left, point_right, point_side])), wander(
        t, rng
    )


def discussion(t, rng):
    gesture = {}
    for side in ("left", "right"):
        gesture[f"{side}_shoulder"] = {
            "flex": 0.35 + smooth(t, rng, 0.25, freq=(0.2, 0.8)),
            "abd": 0.2 + smooth(t, rng, 0.1),
        }
        gesture[f"{side}_elbow"] = {"flex": 1.0 + smooth(t, rng, 0.35, freq=(0.4, 1.5)), "twist": smooth(t, rng, 0.3)}
    return merge(relaxed_stand(t, rng), gesture, {"neck": {"twist": smooth(t, rng, 0.3)}}), wander(t, rng, 0.25)


def eating(t, rng):
    c = hand_to_face_cycle(t, rng)
    hand = rng.choice(["left", "right"])
    other = "right" if hand == "left" else "left"
    arms = merge(
        _both("shoulder", abd=ARM_DOWN + 0.15),
        {f"{hand}_shoulder": {"flex": 0.55 + 0.45 * c, "abd": 0.25 * c}, f"{hand}_elbow": {"flex": 1.2 + 1.05 * c}},
        {f"{other}_shoulder": {"flex": 0.6}, f"{other}_elbow": {"flex": 1.3 + smooth(t, rng, 0.15)}},
        {"neck": {"flex": 0.2 - 0.15 * c + smooth(t, rng, 0.05)}, "spine2": {"flex": 0.15 + smooth(t, rng, 0.05)}},
    )
    return merge(SIT, arms), wander(t, rng, 0.05)


def greeting(t, rng):
    wave = {
        "right_shoulder": {"abd": 0.2, "flex": 0.3},
        "right_elbow": {"flex": 1.4 + 0.4 * np.sin(2 * np.pi * 1.8 * t)},
    }
    handshake = {"right_shoulder": {"flex": 0.75}, "right_elbow": {"flex": 0.7 + 0.15 * np.sin(2 * np.pi * 2.0 * t)}}
    bow = {"spine1": {"flex": 0.3}, "spine2": {"flex": 0.2}, "neck": {"flex": 0.3}}
    hug = {
        "left_shoulder": {"flex": 1.2, "abd": 0.3},
        "right_shoulder": {"flex": 1.2, "abd": 0.3},
        "left_elbow": {"flex": 0.6},
        "right_elbow": {"flex": 0.6},
    }
    return merge(
        relaxed_stand(t, rng), blend_keyposes(t, rng, [{}, wave, handshake, bow, hug], hold=(0.8, 2.0))
    ), wander(t, rng, 0.4)


def phoning(t, rng):
    hand = rng.choice(["left", "right"])
    sign = 1.0 if hand == "left" else -1.0
    phone = {
        f"{hand}_shoulder": {"flex": 0.55, "abd": ARM_DOWN + 0.5},
        f"{hand}_elbow": {"flex": 2.3, "twist": 0.3},
        "neck": {"abd": 0.12 * sign},
    }
    other = "right" if hand == "left" else "left"
    gesture = {f"{other}_elbow": {"flex": 0.6 + smooth(t, rng, 0.4, freq=(0.3, 1.0))}}
    return merge(relaxed_stand(t, rng), phone, gesture), wander(t, rng, 0.5)


def posing(t, rng):
    hands_on_hips = merge(_both("shoulder", abd=0.9, flex=-0.3), _both("elbow", flex=1.7))
    arms_crossed = merge(_both("shoulder", flex=0.7, abd=0.45), _both("elbow", flex=2.1))
    victory = merge(_both("shoulder", abd=1.35 - ARM_DOWN, flex=0.1), _both("elbow", flex=0.2))
    lunge = {
        "left_hip": {"flex": 0.6},
        "left_knee": {"flex": 0.7},
        "right_hip": {"flex": -0.3},
        "spine1": {"flex": 0.1},
    }
    flex_arms = merge(_both("shoulder", abd=1.3), _both("elbow", flex=1.8, twist=-0.4))
    return merge(
        relaxed_stand(t, rng),
        blend_keyposes(t, rng, [hands_on_hips, arms_crossed, victory, lunge, flex_arms], hold=(1.5, 3.0)),
    ), wander(t, rng, 0.2)


def purchases(t, rng):
    c = hand_to_face_cycle(t, rng, period=(3.0, 6.0), hold=0.6)
    reach = merge(
        {"spine1": {"flex": 0.25 * c}, "spine2": {"flex": 0.25 * c}, "neck": {"flex": 0.2 * c}},
        _both("shoulder", flex=0.9 * c),
        _both("elbow", flex=0.5 - 0.2 * c),
        _both("knee", flex=0.2 * c),
        _both("hip", flex=0.25 * c),
    )
    return merge(relaxed_stand(t, rng), reach), wander(t, rng, 0.5)


def sitting(t, rng):
    lap = merge(_both("shoulder", abd=ARM_DOWN + 0.2, flex=0.5), _both("elbow", flex=1.0))
    crossed_legs = {"left_hip": {"abd": -0.3, "flex": 0.15}, "left_knee": {"flex": -0.2}}
    lean_back = {"spine1": {"flex": -0.2}, "right_shoulder": {"flex": 0.2}}
    chin_on_hand = {"right_shoulder": {"flex": 0.6}, "right_elbow": {"flex": 1.3}, "spine2": {"flex": 0.25}}
    extra = blend_keyposes(t, rng, [{}, crossed_legs, lean_back, chin_on_hand], hold=(2.0, 4.0), move=(1.0, 1.8))
    look = {"neck": {"twist": smooth(t, rng, 0.4, freq=(0.05, 0.3)), "flex": 0.1 + smooth(t, rng, 0.1)}}
    return merge(SIT, lap, extra, look), wander(t, rng, 0.05)


def sitting_down(t, rng):
    period = rng.uniform(6.0, 9.0)
    s = 0.5 - 0.5 * np.cos(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    s = np.clip(1.3 * s - 0.15, 0, 1)
    bump = np.sin(np.pi * s)
    body = merge(
        _both("hip", flex=1.5 * s + 0.25 * bump, abd=0.08),
        _both("knee", flex=1.55 * s),
        _both("ankle", flex=-0.2 * bump),
        {"spine1": {"flex": 0.35 * bump}, "spine2": {"flex": 0.15 * bump}, "neck": {"flex": -0.15 * bump}},
        _both("shoulder", abd=ARM_DOWN + 0.2, flex=0.6 * bump + 0.3 * s),
        _both("elbow", flex=0.3 + 0.6 * s),
    )
    return body, wander(t, rng, 0.05)


def smoking(t, rng):
    c = hand_to_face_cycle(t, rng, period=(6.0, 10.0), hold=0.8)
    hand = rng.choice(["left", "right"])
    other = "right" if hand == "left" else "left"
    smoke = {
        f"{hand}_shoulder": {"flex": 0.2 + 0.5 * c, "abd": ARM_DOWN + 0.1 + 0.35 * c},
        f"{hand}_elbow": {"flex": 0.5 + 1.8 * c},
    }
    rest = {f"{other}_shoulder": {"flex": 0.35}, f"{other}_elbow": {"flex": 1.5}}
    return merge(relaxed_stand(t, rng), smoke, rest), wander(t, rng, 0.3)


def photo(t, rng):
    crouch = np.clip(smooth(t, rng, 0.8, freq=(0.05, 0.15)) - 0.2, 0, 1)
    camera = merge(_both("shoulder", flex=1.0, abd=0.75), _both("elbow", flex=2.0), {"neck": {"flex": 0.1}})
    legs = merge(
        _both("hip", flex=0.9 * crouch),
        _both("knee", flex=1.6 * crouch),
        _both("ankle", flex=-0.4 * crouch),
        {"spine1": {"flex": 0.2 * crouch}},
    )
    return merge(relaxed_stand(t, rng), camera, legs), wander(t, rng, 0.5)


def waiting(t, rng):
    behind_back = merge(_both("shoulder", flex=-0.45), _both("elbow", flex=1.2))
    arms_crossed = merge(_both("shoulder", flex=0.7, abd=0.45), _both("elbow", flex=2.1))
    hands_in_pockets = merge(_both("shoulder", abd=0.15), _both("elbow", flex=0.35))
    shift = {
        "left_hip": {"abd": smooth(t, rng, 0.08, freq=(0.05, 0.15))},
        "right_knee": {"flex": 0.15 + smooth(t, rng, 0.1)},
    }
    return merge(
        relaxed_stand(t, rng),
        blend_keyposes(t, rng, [{}, behind_back, arms_crossed, hands_in_pockets], hold=(2.0, 4.0)),
        shift,
    ), wander(t, rng, 0.4)


def walking(t, rng):
    speed = np.full_like(t, rng.uniform(1.0, 1.35)) + smooth(t, rng, 0.05)
    return gait(t, rng, speed), loop_path(t, rng, speed)


def walk_dog(t, rng):
    stop = np.clip(smooth(t, rng, 1.0, freq=(0.05, 0.15)) + 0.6, 0, 1)  # the dog stops now and then
    speed = rng.uniform(0.7, 1.0) * stop
    leash = {
        "right_shoulder": {"flex": 0.5 + smooth(t, rng, 0.1, freq=(0.3, 1.0))},
        "right_elbow": {"flex": 0.5},
        "spine1": {"flex": 0.1},
        "neck": {"flex": 0.25},
    }
    body = merge(gait(t, rng, speed, arm_swing=0.7), leash)
    body["right_shoulder"]["abd"] = ARM_DOWN + 0.3
    return body, loop_path(t, rng, speed)


def walk_together(t, rng):
    speed = np.full_like(t, rng.uniform(0.8, 1.05))
    side = rng.choice([-1.0, 1.0])
    look = {"neck": {"twist": side * (0.35 + smooth(t, rng, 0.2, freq=(0.1, 0.4)))}, "head": {"twist": side * 0.15}}
    return merge(gait(t, rng, speed, arm_swing=0.6), look), loop_path(t, rng, speed)


GENERATORS = {
    "Directions": directions,
    "Discussion": discussion,
    "Eating": eating,
    "Greeting": greeting,
    "Phoning": phoning,
    "Posing": posing,
    "Purchases": purchases,
    "Sitting": sitting,
    "SittingDown": sitting_down,
    "Smoking": smoking,
    "Photo": photo,
    "Waiting": waiting,
    "Walking": walking,
    "WalkDog": walk_dog,
    "WalkTogether": walk_together,
}
assert set(GENERATORS) == set(ACTIONS)


def small_motions(t, rng):
    """Wrists, collars and ankles never hold perfectly still."""
    parts = {}
    for side in ("left", "right"):
        parts[f"{side}_wrist"] = {"flex": smooth(t, rng, 0.2, freq=(0.1, 0.5)), "abd": smooth(t, rng, 0.08)}
        parts[f"{side}_collar"] = {"abd": smooth(t, rng, 0.04), "flex": smooth(t, rng, 0.04)}
        parts[f"{side}_ankle"] = {"flex": smooth(t, rng, 0.05)}
    return parts


def generate_action(action: str, t: np.ndarray, rng: np.random.Generator) -> Motion:
    """One repetition of ``action`` at times ``t`` (T,) seconds."""
    angles, (position, yaw) = GENERATORS[action](t, rng)
    angles = merge(angles, small_motions(t, rng))
    lean = 0.05 + smooth(t, rng, 0.03)
    orient = Rotation.from_rotvec(np.outer(yaw, [0, 1, 0])) * Rotation.from_rotvec(np.outer(lean, [1, 0, 0]))
    position = np.clip(position, -ROOM_HALF_SIZE, ROOM_HALF_SIZE)
    return Motion(angles_to_pose(angles, len(t)), orient.as_rotvec(), position)
