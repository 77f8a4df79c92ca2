"""The synthetic capture room: camera placement, procedural backgrounds, lights and subject looks.

World frame: SMPL's (metres, y up), floor at y = 0, room centred on the origin. Cameras stand at
the four corners like Human3.6M's (4-6 m from the centre, 1.5-1.8 m high) and look at the
middle of the room.
"""

import colorsys

import numpy as np

from hmrlib.skeleton import JOINT_NAMES


def corner_cameras(rng, camera_names):
    """World-to-camera (R, t) per camera name, one camera per room corner."""
    from hmrlib.camera import look_at

    extrinsics = {}
    for k, name in enumerate(camera_names):
        azimuth = np.radians(45.0 + 90.0 * k + rng.uniform(-8, 8))
        distance, height = rng.uniform(4.2, 5.5), rng.uniform(1.5, 1.8)
        eye = [distance * np.sin(azimuth), height, distance * np.cos(azimuth)]
        target = [rng.uniform(-0.3, 0.3), rng.uniform(0.8, 1.0), rng.uniform(-0.3, 0.3)]
        extrinsics[name] = look_at(eye, target)
    return extrinsics


def room_background(rng, intrinsics, extrinsic) -> np.ndarray:
    """(H, W, 3) uint8: a box-shaped room seen from the camera, ray-cast per pixel.

    Tiled floor, painted walls with a skirting board and a few panels (doors, pictures),
    lit by a soft fall-off — random colours and sizes per call, consistent perspective.
    """
    rotation, translation = extrinsic
    half_x, half_z, height = rng.uniform(4.5, 6.0), rng.uniform(4.5, 6.0), rng.uniform(2.8, 3.4)
    v, u = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width].astype(np.float64)
    rays = (
        np.stack([(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, np.ones_like(u)], -1)
        @ rotation
    )  # world directions
    centre = -rotation.T @ translation
    # distance to each of the six planes along the ray, keep the nearest one in front
    with np.errstate(divide="ignore", invalid="ignore"):
        hits = np.stack(
            [
                (-half_x - centre[0]) / rays[..., 0],
                (half_x - centre[0]) / rays[..., 0],
                (0.0 - centre[1]) / rays[..., 1],
                (height - centre[1]) / rays[..., 1],
                (-half_z - centre[2]) / rays[..., 2],
                (half_z - centre[2]) / rays[..., 2],
            ],
            -1,
        )
    hits[~np.isfinite(hits) | (hits <= 0)] = np.inf
    surface = hits.argmin(-1)
    point = centre + rays * hits.min(-1)[..., None]
    wall_colours = _palette(rng, 4, saturation=(0.05, 0.35), value=(0.55, 0.9))
    image = np.zeros(point.shape)
    for wall, (k, along) in enumerate([(0, 2), (1, 2), (4, 0), (5, 0)]):  # plane index, axis along the wall
        mask = surface == k
        colour = np.broadcast_to(wall_colours[wall], image.shape).copy()
        coord = point[..., along]
        for _ in range(rng.integers(1, 4)):  # doors, pictures, windows
            lo, width = rng.uniform(-4, 3), rng.uniform(0.6, 1.6)
            bottom, top = sorted(rng.uniform(0, height, 2))
            panel = (coord > lo) & (coord < lo + width) & (point[..., 1] > bottom) & (point[..., 1] < top)
            colour[panel] = _palette(rng, 1, value=(0.2, 0.9))[0]
        colour[point[..., 1] < 0.12] *= 0.6  # skirting board
        image[mask] = colour[mask]
    floor_a, floor_b = _palette(rng, 2, saturation=(0.0, 0.4), value=(0.25, 0.75))
    tile = rng.uniform(0.4, 1.0)
    checker = (np.floor(point[..., 0] / tile) + np.floor(point[..., 2] / tile)) % 2
    floor = surface == 2
    image[floor] = np.where(checker[floor, None] > 0, floor_a, floor_b)
    image[surface == 3] = _palette(rng, 1, saturation=(0.0, 0.1), value=(0.8, 1.0))[0]
    distance = np.linalg.norm(point - centre, axis=-1)
    shade = np.clip(1.25 - 0.06 * distance, 0.5, 1.1)[..., None] * rng.uniform(0.7, 1.1)
    noise = rng.normal(0, 0.025, image.shape[:2])[..., None]
    return np.clip(255 * (image * shade + noise), 0, 255).astype(np.uint8)


def _palette(rng, count, saturation=(0.2, 0.8), value=(0.3, 0.9)):
    return np.array(
        [colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*saturation), rng.uniform(*value)) for _ in range(count)]
    )


def random_lights(rng):
    """Two or three directional lights from above, random direction, strength and warmth."""
    lights = []
    for _ in range(rng.integers(2, 4)):
        azimuth, elevation = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 1.3)
        direction = -np.array(
            [np.cos(elevation) * np.sin(azimuth), np.sin(elevation), np.cos(elevation) * np.cos(azimuth)]
        )
        warmth = rng.uniform(-0.1, 0.1)
        lights.append((direction, rng.uniform(1.2, 3.0), (1.0, 1.0 - 0.3 * abs(warmth), 1.0 - warmth)))
    return lights


SKIN_TONES = np.array(
    [
        [0.96, 0.80, 0.69],
        [0.90, 0.72, 0.58],
        [0.78, 0.57, 0.44],
        [0.63, 0.45, 0.33],
        [0.45, 0.31, 0.22],
        [0.33, 0.22, 0.15],
    ]
)
HAIR_COLOURS = np.array(
    [[0.08, 0.06, 0.05], [0.25, 0.16, 0.09], [0.55, 0.42, 0.25], [0.75, 0.62, 0.38], [0.55, 0.55, 0.55]]
)
TROUSER_COLOURS = np.array(
    [[0.15, 0.2, 0.35], [0.08, 0.08, 0.09], [0.55, 0.48, 0.35], [0.35, 0.35, 0.37], [0.25, 0.3, 0.2]]
)


def subject_look(rng, weights: np.ndarray, rest_vertices: np.ndarray, heading_cues: bool = True) -> np.ndarray:
    """Per-vertex RGBA (V, 4): skin, hair, a shirt (short or long sleeves), trousers and shoes.

    weights: (V, 24) skinning weights; rest_vertices: (V, 3) in the zero pose (SMPL's frame: y
    up, the body facing +z, its left at +x). Regions come from the joint each vertex follows
    most. heading_cues (SynthH36M looks 2): a face, a shirt whose front differs from its back
    (a print, a collar, buttons), a belt with a buckle, front pockets, toe caps and light soles,
    and hair that may hang down the back — so that front and back differ by more than the hair
    (issue 17: the heading was wrong in a third of the frames).
    """
    part = weights.argmax(1)
    names = np.array(JOINT_NAMES)[part]
    skin, hair = SKIN_TONES[rng.integers(len(SKIN_TONES))], HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))]
    shirt = _palette(rng, 1, saturation=(0.1, 0.9), value=(0.3, 0.95))[0]
    trousers = TROUSER_COLOURS[rng.integers(len(TROUSER_COLOURS))] * rng.uniform(0.8, 1.2)
    shoes = np.full(3, rng.uniform(0.05, 0.4))
    long_sleeves = rng.uniform() < 0.5
    colours = np.tile(skin, (len(part), 1))
    torso = np.isin(
        names, ["spine1", "spine2", "spine3", "left_collar", "right_collar", "left_shoulder", "right_shoulder"]
    )
    if long_sleeves:
        torso |= np.isin(names, ["left_elbow", "right_elbow"])
    colours[torso] = shirt
    pelvis = names == "pelvis"
    colours[pelvis] = trousers
    colours[np.isin(names, ["left_hip", "right_hip", "left_knee", "right_knee"])] = trousers
    feet = np.isin(names, ["left_ankle", "right_ankle", "left_foot", "right_foot"])
    colours[feet] = shoes
    head = names == "head"
    head_joint = rest_vertices[head].mean(0)
    top = rest_vertices[head, 1].max()
    hairline = rng.uniform(0.06, 0.1)
    is_hair = head & (
        (rest_vertices[:, 1] > top - hairline)
        | ((rest_vertices[:, 2] < head_joint[2] - 0.01) & (rest_vertices[:, 1] > top - 0.2))
    )
    colours[is_hair] = hair
    if heading_cues:
        _front_and_back(rng, colours, names, rest_vertices, head, is_hair, torso, feet, skin, hair, shirt, trousers)
    colours *= rng.uniform(0.97, 1.03, size=(len(part), 1))  # a little cloth texture
    return np.concatenate([np.clip(colours, 0, 1), np.ones((len(part), 1))], 1)


def _front_and_back(rng, colours, names, rest, head, is_hair, torso, feet, skin, hair, shirt, trousers):
    """Paint what tells a person's front from their back onto ``colours`` (V, 3), in place.
    Positions are relative to the head's and body's own landmarks in the zero pose (the nose tip:
    the head's frontmost vertex), so they follow any body model's proportions."""
    x, y, z = rest[:, 0], rest[:, 1], rest[:, 2]
    nose = rest[head][rest[head, 2].argmax()]
    face = head & ~is_hair & (z > nose[2] - 0.06)

    def near(cx, cy, half_x, half_y):
        return face & (np.abs(x - cx) < half_x) & (np.abs(y - cy) < half_y)

    colours[face & (np.abs(x) < 0.013) & (y > nose[1] - 0.006) & (y < nose[1] + 0.035)] *= 0.85  # nose
    colours[head & ~is_hair & (np.abs(x) > 0.065) & (np.abs(y - nose[1] - 0.02) < 0.025)] *= 0.78  # ears
    for side in (-1, 1):
        colours[near(side * 0.032, nose[1] + 0.038, 0.011, 0.006)] = (0.95, 0.95, 0.93)  # eye whites
        colours[near(side * 0.032, nose[1] + 0.038, 0.006, 0.006)] = (0.08, 0.06, 0.05)  # irises
        colours[near(side * 0.032, nose[1] + 0.058, 0.018, 0.004)] = hair * 0.8  # brows
    colours[near(0.0, nose[1] - 0.037, 0.022, 0.006)] = skin * 0.55 + np.array([0.35, 0.05, 0.08])  # mouth
    # the shirt: a print on the chest, a collar and a row of buttons at the front; the back plain
    chest_front = torso & (z > 0.35 * z[torso].max()) & (np.abs(x) < 0.15)
    print_colour = _palette(rng, 1, saturation=(0.4, 1.0), value=(0.5, 1.0))[0]
    if np.abs(print_colour - shirt).sum() < 0.6:  # a print that does not stand out is no cue
        print_colour = 1.0 - shirt
    chest_top = y[chest_front].max() if chest_front.any() else 0.0
    colours[chest_front & (y > chest_top - 0.3) & (y < chest_top - 0.06)] = print_colour
    colours[torso & (z > 0.0) & (y > chest_top - 0.04)] = (0.93, 0.93, 0.9)  # collar
    buttons = chest_front & (np.abs(x) < 0.008) & (np.mod(y, 0.05) < 0.012) & (y > chest_top - 0.3)
    colours[buttons] = shirt * 0.3
    # trousers: a dark belt all round with a bright buckle at the front, pockets at the front
    waist = (names == "pelvis") & (y > 0.03) & (y < 0.075)
    colours[waist] = (0.12, 0.08, 0.05)
    colours[waist & (np.abs(x) < 0.025) & (z > 0.1)] = (0.85, 0.8, 0.55)
    hips = np.isin(names, ["left_hip", "right_hip"])
    colours[hips & (z > 0.06) & (y > -0.2) & (y < -0.1) & (np.abs(x) > 0.06)] = trousers * 0.6
    # shoes: white toe caps and light soles
    toes = feet & (z > rest[feet, 2].max() - 0.05)
    colours[toes] = (0.92, 0.92, 0.9)
    colours[feet & (y < rest[feet, 1].min() + 0.012)] = (0.8, 0.78, 0.74)
    if rng.uniform() < 0.4:  # long hair down the back of the neck
        colours[np.isin(names, ["head", "neck"]) & (z < nose[2] - 0.14) & (y > nose[1] - 0.12)] = hair


def chair(floor_xz, yaw: float, seat_height: float, rng):
    """A plain chair (seat, four legs, backrest) as (vertices, faces, RGBA) in the world.

    The seat's top is at ``seat_height`` under a person at ``floor_xz`` facing ``yaw``.
    """
    import trimesh

    size, thick = rng.uniform(0.42, 0.5), 0.05
    parts = [
        trimesh.creation.box(
            [size, thick, size], trimesh.transformations.translation_matrix([0, seat_height - thick / 2, 0])
        )
    ]
    for sx in (-1, 1):
        for sz in (-1, 1):
            offset = [sx * (size / 2 - 0.03), (seat_height - thick) / 2, sz * (size / 2 - 0.03)]
            parts.append(
                trimesh.creation.box(
                    [0.04, seat_height - thick, 0.04], trimesh.transformations.translation_matrix(offset)
                )
            )
    parts.append(
        trimesh.creation.box(
            [size, 0.45, 0.04], trimesh.transformations.translation_matrix([0, seat_height + 0.25, -size / 2])
        )
    )
    mesh = trimesh.util.concatenate(parts)
    place = trimesh.transformations.rotation_matrix(yaw, [0, 1, 0])
    place[[0, 2], 3] = floor_xz
    mesh.apply_transform(place)
    colour = (*_palette(rng, 1, saturation=(0.2, 0.6), value=(0.15, 0.5))[0], 1.0)
    return np.asarray(mesh.vertices), np.asarray(mesh.faces), colour
