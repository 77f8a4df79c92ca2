"""How well a predicted mesh lines up with the person in a photograph, without 3D labels.

The 12 limb joints that SMPL and MediaPipe's BlazePose both name (shoulders, elbows, wrists,
hips, knees, ankles; the one table, :data:`hmrlib.fitting.correspondence.LIMB_JOINTS`): the
distance in the image between each predicted SMPL joint, projected with the mesh's camera, and
the detector's landmark, as a share of the person's box side; only
landmarks BlazePose rates visible (>= ``MIN_VISIBILITY``). Summaries: the mean distance and the
share of joints within 0.1 and 0.2 of the side (PCK).
"""

import numpy as np

from hmrlib.fitting.correspondence import LIMB_JOINTS
from hmrlib.people.detect import MIN_VISIBILITY


def limb_distances(joints_2d: np.ndarray, keypoints: np.ndarray, side: float) -> np.ndarray:
    """(24, 2) projected SMPL joints and (33, 3) BlazePose landmarks (x, y, visibility), pixels
    -> (K,) distances / ``side`` of the K <= 12 limb joints whose landmark is visible."""
    smpl, blaze = (list(index) for index in zip(*LIMB_JOINTS))
    visible = keypoints[blaze, 2] >= MIN_VISIBILITY
    distance = np.linalg.norm(joints_2d[smpl] - keypoints[blaze, :2], axis=1)
    return distance[visible] / side


def summary(distances: np.ndarray) -> dict:
    """Mean distance / side and PCK at 0.1 and 0.2 of pooled distances (K,)."""
    distances = np.asarray(distances, dtype=np.float64)
    return {
        "joints": len(distances),
        "mean_distance": float(distances.mean()) if len(distances) else float("nan"),
        "pck_0.1": float((distances <= 0.1).mean()) if len(distances) else float("nan"),
        "pck_0.2": float((distances <= 0.2).mean()) if len(distances) else float("nan"),
    }
