"""The course's parameter names and smplx's, mapped in one place.

Course (per frame): ``root_orient (3)``, ``pose_body (63)``, ``pose_hand (6)``, ``betas (10)``,
``root_loc (3)``. smplx: ``global_orient (3)``, ``body_pose (69)``, ``betas (10)``, ``transl (3)``.
The full 72-value pose is root_orient ‖ pose_body ‖ pose_hand = global_orient ‖ body_pose, and
vertices = LBS(params) + root_loc, so root_loc is smplx's ``transl``.
Works on numpy arrays and torch tensors, with any leading batch dimensions.
"""

import numpy as np
import torch

COURSE_SIZES = {"betas": 10, "root_loc": 3, "root_orient": 3, "pose_body": 63, "pose_hand": 6}
BODY_POSE_SPLIT = COURSE_SIZES["pose_body"]  # body_pose[..., :63] is pose_body, the rest pose_hand


def _concat(a, b):
    if isinstance(a, np.ndarray):
        return np.concatenate([a, b], axis=-1)
    return torch.cat([a, b], dim=-1)


def course_to_smplx(params: dict) -> dict:
    """Course names → smplx keyword arguments."""
    return {
        "global_orient": params["root_orient"],
        "body_pose": _concat(params["pose_body"], params["pose_hand"]),
        "betas": params["betas"],
        "transl": params["root_loc"],
    }


def smplx_to_course(params: dict) -> dict:
    """smplx keyword arguments → course names."""
    body_pose = params["body_pose"]
    return {
        "root_orient": params["global_orient"],
        "pose_body": body_pose[..., :BODY_POSE_SPLIT],
        "pose_hand": body_pose[..., BODY_POSE_SPLIT:],
        "betas": params["betas"],
        "root_loc": params["transl"],
    }
