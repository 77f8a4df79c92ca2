"""Human3.6M's protocols 1 and 2, for users who have the Human3.6M joint regressor.

hmrlib's own ``mpjpe_mm`` / ``pa_mpjpe_mm`` use the body model's 24 SMPL joints (see
:mod:`hmrlib.evaluation.metrics`). Published Human3.6M numbers instead regress 17 Human3.6M
joints from the mesh with ``J_regressor_h36m.npy`` (17 x 6890, from SPIN's data files) and, as
SPIN's eval.py does for Human3.6M, score the 14 of them it keeps (``H36M_TO_J14``) after moving
both pelvises (Human3.6M joint 0, itself not among the 14) to the origin: MPJPE (reported by
SPIN, HMR and PyMAF under protocol 1) and PA-MPJPE (protocol 2's reconstruction error). The
protocols differ in which frames they score, which this function does not choose. Without the
file nothing changes.
"""

from pathlib import Path

import numpy as np
import torch

from hmrlib.errors import HmrlibError
from hmrlib.evaluation.metrics import pa_mpjpe

H36M_JOINTS = 17
# SPIN's constants.H36M_TO_J17 order; its first 14 are the LSP-style joints of protocol 2
H36M_TO_J17 = [6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10, 0, 7, 9]
H36M_TO_J14 = H36M_TO_J17[:14]
PROTOCOL_METRICS = ("mpjpe_p1_mm", "pa_mpjpe_p2_mm")


class RegressorError(HmrlibError, ValueError):
    """A Human3.6M joint regressor file that does not fit the body model."""


def load_h36m_regressor(path, num_vertices: int) -> torch.Tensor:
    """(17, V) float32 from a ``.npy`` file, checked against the body model's ``num_vertices``."""
    path = Path(path)
    try:
        regressor = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise RegressorError(f"{path}: not a readable .npy array ({err})") from None
    if regressor.ndim != 2 or regressor.shape[0] != H36M_JOINTS:
        raise RegressorError(f"{path}: a Human3.6M joint regressor is 17 x vertices, this one is {regressor.shape}")
    if regressor.shape[1] != num_vertices:
        raise RegressorError(
            f"{path}: the regressor is for {regressor.shape[1]} vertices but the body model has {num_vertices} "
            "(SMPL has 6890; the stand-in's 13348 vertices have no Human3.6M regressor)"
        )
    if not np.isfinite(regressor).all():
        raise RegressorError(f"{path}: the regressor holds NaN or inf")
    return torch.as_tensor(regressor, dtype=torch.float32)


def h36m_protocols(predicted_vertices, target_vertices, regressor: torch.Tensor) -> dict:
    """(B, V, 3) x 2 and a (17, V) regressor -> per-sample protocol 1 and 2 errors (B,), mm."""
    regressor = regressor.to(predicted_vertices)
    predicted = torch.einsum("jv,bvc->bjc", regressor, predicted_vertices)  # (B, 17, 3)
    target = torch.einsum("jv,bvc->bjc", regressor, target_vertices)
    predicted = (predicted - predicted[:, :1])[:, H36M_TO_J14]  # (B, 14, 3); Human3.6M joint 0: pelvis
    target = (target - target[:, :1])[:, H36M_TO_J14]
    return {
        "mpjpe_p1_mm": 1000 * (predicted - target).norm(dim=-1).mean(1),
        "pa_mpjpe_p2_mm": pa_mpjpe(predicted, target),
    }
