"""Fitting the body to 2D keypoints after the network (regression, then optimisation).

Pure tensor code below every front: :func:`fit_to_keypoints` takes the network's pose, shape and
translation for a batch of people, their camera and their BlazePose keypoints, and returns
fitted parameters of the same kind (or the network's, where the fit did not help).
"""

from hmrlib.fitting.correspondence import LIMB_JOINTS, model_points, target_points
from hmrlib.fitting.fit import FitResult, FitSettings, KeypointFitter, fit_to_keypoints
from hmrlib.fitting.keypoint_body import KeypointBody

__all__ = [
    "FitResult",
    "FitSettings",
    "KeypointBody",
    "KeypointFitter",
    "LIMB_JOINTS",
    "fit_to_keypoints",
    "model_points",
    "target_points",
]
