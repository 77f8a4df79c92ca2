"""ADA-style augmentation (Karras et al. 2020), written for hmrlib, batched on the images' device.

Each op is applied to each sample independently with probability p; p ramps linearly from 0 to
``p_max`` over ``ramp_iterations`` (the paper: 0 -> 0.75 over 60k iterations), then stays.
- geometric, one affine warp with reflect padding: horizontal flip, rotation (uniform angle),
  translation, isotropic scaling;
- colour, one 4x4 matrix on [-1, 1] RGB: brightness, contrast, luma flip, hue rotation,
  saturation;
- cutout: a square of side 0.25 x the image, set to 0 in [-1, 1] (mid-grey).
Parameters are sampled first, then applied (``sample`` / ``apply``), and the 2D transform is
returned so labels can follow. Label-aware mode (default, beyond the paper) mirrors the pose of
flipped samples and turns the global orientation with in-plane rotations; paper mode (the
authors') changes the image only. Samples that draw no op are returned bit for bit. Nothing here
waits for a GPU: the parameters are drawn on the images' device, and every op is computed for
the whole batch and kept where it applies.
"""

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from hmrlib.errors import ConfigError
from hmrlib.geometry import rotate_about_camera_axis
from hmrlib.skeleton import mirror_pose

GEOMETRIC_OPS = ("flip", "rotate", "translate", "scale")
COLOUR_OPS = ("brightness", "contrast", "lumaflip", "hue", "saturation")
ALL_OPS = GEOMETRIC_OPS + COLOUR_OPS + ("cutout",)


@dataclass
class AugmentConfig:
    p_max: float = 0.75
    ramp_iterations: int = 60_000
    label_aware: bool = True
    translate_std: float = 0.125  # fraction of the image side
    scale_std: float = 0.2  # of log2(scale)
    brightness_std: float = 0.2
    contrast_std: float = 0.5  # of log2(contrast)
    hue_max: float = 1.0  # x pi
    saturation_std: float = 1.0  # of log2(saturation)
    cutout_size: float = 0.25  # x the image side
    ops: tuple = ALL_OPS  # the ops in use (the paper: all); the others never apply

    def __post_init__(self):
        unknown = sorted(set(self.ops) - set(ALL_OPS))
        if unknown:
            raise ConfigError(f"unknown augmentation ops {', '.join(unknown)}; choose from {', '.join(ALL_OPS)}")
        self.ops = tuple(self.ops)

    def probability(self, iteration: int) -> float:
        """The schedule: p_max * min(1, iteration / ramp_iterations)."""
        if self.ramp_iterations <= 0:
            return self.p_max
        return self.p_max * min(1.0, iteration / self.ramp_iterations)


UNIFORMS = (*ALL_OPS, "angle", "hue", "cutout_x", "cutout_y")  # the columns of the one uniform draw
NORMALS = ("translate_x", "translate_y", "scale", "brightness", "contrast", "saturation")


def sample(batch: int, p: float, config: AugmentConfig, device=None, generator: torch.Generator | None = None) -> dict:
    """Draw which ops apply to which sample, and their parameters (all (B,) or (B, 2) tensors), in
    two draws on the generator's device — which is the images' device: nothing is copied from the
    host, and nothing is read back to decide."""
    device = generator.device if generator is not None else device
    # every op draws, used or not: the same random numbers for the same seed whatever the ops
    uniform = torch.rand(batch, len(UNIFORMS), generator=generator, device=device)
    normal = torch.randn(batch, len(NORMALS), generator=generator, device=device)
    u = dict(zip(UNIFORMS, uniform.unbind(1)))
    n = dict(zip(NORMALS, normal.unbind(1)))
    return {
        "applied": {op: u[op] < (p if op in config.ops else -1.0) for op in ALL_OPS},
        "angle": (u["angle"] * 2 - 1) * math.pi,
        "translate": normal[:, :2] * config.translate_std,
        "scale": torch.exp2(n["scale"] * config.scale_std),
        "brightness": n["brightness"] * config.brightness_std,
        "contrast": torch.exp2(n["contrast"] * config.contrast_std),
        "hue": (u["hue"] * 2 - 1) * math.pi * config.hue_max,
        "saturation": torch.exp2(n["saturation"] * config.saturation_std),
        "cutout_centre": uniform[:, -2:],
    }


def geometric_matrix(params: dict) -> torch.Tensor:
    """(B, 3, 3) content transform in normalised image coordinates ([-1, 1], x right, y down):
    flip, then scale, rotate and translate. Ops not applied contribute the identity."""
    applied = params["applied"]
    batch = applied["flip"].shape[0]
    device = params["angle"].device
    eye = torch.eye(3, device=device).repeat(batch, 1, 1)
    flip, scale, rotate, shift = eye.clone(), eye.clone(), eye.clone(), eye.clone()
    flip[:, 0, 0] = torch.where(applied["flip"], -1.0, 1.0)
    s = torch.where(applied["scale"], params["scale"], 1.0)
    scale[:, 0, 0], scale[:, 1, 1] = s, s
    angle = torch.where(applied["rotate"], params["angle"], 0.0)
    rotate[:, 0, 0], rotate[:, 0, 1], rotate[:, 1, 0], rotate[:, 1, 1] = (
        angle.cos(),
        -angle.sin(),
        angle.sin(),
        angle.cos(),
    )
    shift[:, :2, 2] = torch.where(applied["translate"][:, None], 2 * params["translate"], 0.0)  # side = 2 units
    return shift @ rotate @ scale @ flip


def affine_inverse(matrix: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) affine transforms -> their inverses, in closed form (never singular here: the
    scale is a power of two). torch.linalg.inv checks for singular input, which reads a flag back
    from the device."""
    a, b, c, d = matrix[:, 0, 0], matrix[:, 0, 1], matrix[:, 1, 0], matrix[:, 1, 1]
    det = a * d - b * c
    linear = torch.stack([d, -b, -c, a], dim=1).view(-1, 2, 2) / det[:, None, None]  # (B, 2, 2)
    shift = -(linear @ matrix[:, :2, 2:])  # (B, 2, 1)
    inverse = torch.zeros_like(matrix)
    inverse[:, :2, :2], inverse[:, :2, 2:], inverse[:, 2, 2] = linear, shift, 1.0
    return inverse


def colour_matrix(params: dict) -> torch.Tensor:
    """(B, 4, 4) on homogeneous [-1, 1] RGB: brightness, contrast, luma flip, hue, saturation."""
    applied = params["applied"]
    batch = applied["brightness"].shape[0]
    device = params["hue"].device
    eye = torch.eye(4, device=device).repeat(batch, 1, 1)
    # the luma axis v = (1, 1, 1) / sqrt(3), made on the device: its outer product and cross-product matrix
    vvt = torch.zeros(4, 4, device=device)
    vvt[:3, :3] = 1.0 / 3.0
    cycle = torch.eye(3, device=device).roll(1, 0)
    skew = (cycle - cycle.T) / math.sqrt(3.0)  # [[0, -v2, v1], [v2, 0, -v0], [-v1, v0, 0]]
    matrix = eye.clone()
    brightness = eye.clone()
    brightness[:, :3, 3] = torch.where(applied["brightness"], params["brightness"], 0.0)[:, None]
    contrast = eye.clone()
    c = torch.where(applied["contrast"], params["contrast"], 1.0)
    contrast[:, 0, 0], contrast[:, 1, 1], contrast[:, 2, 2] = c, c, c
    lumaflip = eye - 2 * vvt * applied["lumaflip"].float()[:, None, None]
    hue = eye.clone()
    angle = torch.where(applied["hue"], params["hue"], 0.0)
    hue[:, :3, :3] = (
        torch.eye(3, device=device) + angle.sin()[:, None, None] * skew + (1 - angle.cos())[:, None, None] * skew @ skew
    )
    saturation = eye.clone()
    sat = torch.where(applied["saturation"], params["saturation"], 1.0)[:, None, None]
    saturation[:, :3, :3] = vvt[:3, :3] + (torch.eye(3, device=device) - vvt[:3, :3]) * sat
    for m in (brightness, contrast, lumaflip, hue, saturation):
        matrix = m @ matrix
    return matrix


def _any_of(applied: dict, ops) -> torch.Tensor:
    return torch.stack([applied[op] for op in ops]).any(0)  # (B,) on the device, never read


def apply(images: torch.Tensor, params: dict, config: AugmentConfig, global_orient=None, body_pose=None):
    """images (B, 3, H, W) in [0, 1] (square) -> (images, global_orient, body_pose, matrix (B, 3, 3)).
    Every op is computed for the whole batch and kept where it applies (``torch.where``): no
    sample is picked out by a mask, which would read the mask back to size the result."""
    applied = params["applied"]
    geometric, colour = _any_of(applied, GEOMETRIC_OPS), _any_of(applied, COLOUR_OPS)
    matrix = geometric_matrix(params)
    x = images * 2 - 1  # the authors augment on [-1, 1]
    warp = affine_inverse(matrix)[:, :2]  # affine_grid maps output to input
    warped = F.grid_sample(
        x,
        F.affine_grid(warp, list(x.shape), align_corners=False),
        mode="bilinear",
        padding_mode="reflection",
        align_corners=False,
    )
    x = torch.where(geometric[:, None, None, None], warped, x)
    c = colour_matrix(params)
    coloured = torch.einsum("bij,bjhw->bihw", c[:, :3, :3], x) + c[:, :3, 3, None, None]
    x = torch.where(colour[:, None, None, None], coloured, x)
    size = images.shape[-1]
    ys = torch.arange(size, device=x.device)[:, None] / size
    xs = torch.arange(size, device=x.device)[None, :] / size
    centre = params["cutout_centre"]
    inside = ((xs[None] - centre[:, 0, None, None]).abs() < config.cutout_size / 2) & (
        (ys[None] - centre[:, 1, None, None]).abs() < config.cutout_size / 2
    )
    x = torch.where((inside & applied["cutout"][:, None, None])[:, None], 0.0, x)
    touched = geometric | colour | applied["cutout"]
    out = torch.where(touched[:, None, None, None], ((x + 1) / 2).clamp(0, 1), images)  # untouched: bit for bit
    if config.label_aware and global_orient is not None:
        full = torch.cat([global_orient, body_pose], 1)
        full = torch.where(applied["flip"][:, None], mirror_pose(full), full)
        angle = torch.where(applied["rotate"], params["angle"], 0.0)
        root = torch.where(applied["rotate"][:, None], rotate_about_camera_axis(full[:, :3], angle), full[:, :3])
        global_orient, body_pose = root, full[:, 3:]
    return out, global_orient, body_pose, matrix


def augment(images, p: float, config: AugmentConfig, global_orient=None, body_pose=None, generator=None):
    """sample + apply in one call. Returns (images, global_orient, body_pose, params). At p = 0 (a
    profile without augmentation, or before its ramp) nothing is drawn or computed."""
    params = sample(images.shape[0], p, config, images.device, generator) if p > 0 else None
    if params is None:
        return images, global_orient, body_pose, {"applied": None, "matrix": None}
    images, global_orient, body_pose, matrix = apply(images, params, config, global_orient, body_pose)
    params["matrix"] = matrix
    return images, global_orient, body_pose, params
