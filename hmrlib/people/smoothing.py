"""Temporal smoothing of per-frame parameters: the One-Euro filter (Casiez, Roussel and Vogel,
CHI 2012), a low-pass filter whose cut-off rises with the speed of the signal — steady poses
lose their jitter, fast motion keeps its timing.

Rotations are filtered in the continuous 6D representation (two columns of the rotation matrix)
and turned back into axis-angle, so a rotation near pi does not jump between its two axis-angle
spellings; betas are filtered as they are.
"""

import math

import numpy as np
import torch

from hmrlib.geometry import matrix_to_rotvec, matrix_to_sixd, rotvec_to_matrix, sixd_to_matrix


def _alpha(cutoff, dt: float):
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def one_euro(values: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0):
    """(T, D) -> (T, D) filtered along T, frames ``1 / fps`` seconds apart. ``min_cutoff`` (Hz):
    the cut-off of a still signal; ``beta``: how fast it rises with the signal's speed."""
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    dt = 1.0 / fps
    out[0], speed = values[0], np.zeros_like(values[0])
    for t in range(1, len(values)):
        raw_speed = (values[t] - out[t - 1]) / dt
        speed = speed + _alpha(d_cutoff, dt) * (raw_speed - speed)
        cutoff = min_cutoff + beta * np.abs(speed)
        out[t] = out[t - 1] + _alpha(cutoff, dt) * (values[t] - out[t - 1])
    return out


def smooth_parameters(pose: np.ndarray, betas: np.ndarray, fps: float, **filter_args):
    """Per-frame (T, 72) axis-angle poses and (T, 10) betas, smoothed."""
    frames = len(pose)
    if frames < 2:
        return pose, betas
    sixd = matrix_to_sixd(rotvec_to_matrix(torch.as_tensor(pose, dtype=torch.float64).view(frames, -1, 3)))
    smooth_sixd = torch.as_tensor(one_euro(sixd.reshape(frames, -1).numpy(), fps, **filter_args)).view(sixd.shape)
    smooth_pose = matrix_to_rotvec(sixd_to_matrix(smooth_sixd)).reshape(frames, -1).numpy()
    return smooth_pose.astype(np.float32), one_euro(betas, fps, **filter_args).astype(np.float32)


def jitter(values: np.ndarray) -> float:
    """Mean absolute frame-to-frame change of (T, D) values."""
    return float(np.abs(np.diff(np.asarray(values), axis=0)).mean())
