"""Fitting predicted people to their detected keypoints (:mod:`hmrlib.fitting`), in one batch.

Each person with BlazePose's landmarks is fitted from the network's answer in the photo's
assumed camera; a kept fit becomes the person's main answer and the network's moves to
``Prediction.network``; ``Prediction.fit`` says what happened either way.
"""

import numpy as np
import torch


def fit_predictions(fitter, body, predictions: list) -> list:
    """Fit, in place, every :class:`~hmrlib.people.predict.Prediction` that has keypoints; the
    same list back."""
    people = [p for p in predictions if p.keypoints is not None]
    if not people:
        return predictions
    device = body.smpl.v_template.device

    def stacked(values):
        return torch.as_tensor(np.stack(values), dtype=torch.float32, device=device)

    k = [p.intrinsics for p in people]
    result = fitter(
        stacked([p.pose for p in people]),
        stacked([p.betas for p in people]),
        stacked([p.transl for p in people]),
        stacked([p.keypoints for p in people]),
        stacked([[c.fx, c.fy, c.cx, c.cy] for c in k]),
        stacked([p.box[1] for p in people]),
    )
    with torch.no_grad():
        mesh = body.mesh(result.pose, result.betas, result.transl)
    for index, person in enumerate(people):
        person.network = {
            "global_orient": person.pose[:3],
            "body_pose": person.pose[3:],
            "betas": person.betas,
            "transl": person.transl,
            "joints_2d": person.joints_2d,
        }
        kept = bool(result.kept[index])
        person.fit = {
            "kept": kept,
            "reprojection_error_network": float(result.error_network[index]),
            "reprojection_error_fit": float(result.error_fit[index]),
            "keypoints_used": int(result.keypoints_used[index]),
            "prior": fitter.settings.prior,
        }
        if kept:
            person.pose = result.pose[index].cpu().numpy()
            person.betas = result.betas[index].cpu().numpy()
            person.transl = result.transl[index].cpu().numpy()
            person.vertices = mesh.vertices[index].cpu().numpy()
            person.joints = mesh.joints[index].cpu().numpy()
    return predictions
