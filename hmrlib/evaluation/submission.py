"""The course's submission file: results.csv with one row per test frame.

Columns: id (``S9/<Action>.<cam>/<frame>.npz``), root_loc, root_orient, betas, pose_body,
pose_hand — each a list of numbers. root_loc is copied from the test file (the course scores
meshes placed with it).
"""

from pathlib import Path

import pandas as pd

from hmrlib.body import smplx_to_course
from hmrlib.data.dataset import H36MDataset
from hmrlib.evaluation.evaluate import predict

COLUMNS = ("id", "root_loc", "root_orient", "betas", "pose_body", "pose_hand")


def write_submission(
    generator,
    root,
    out,
    subjects=("S9", "S11"),
    image_size: int = 224,
    batch_size: int = 32,
    box_rounding: str = "truncate",
    cache_dir=None,
    workers: int = 0,
) -> Path:
    """The course's results.csv for ``subjects``; boxes cut as the model was trained (box_rounding);
    with ``cache_dir`` the crops are decoded once and read by ``workers`` loader processes."""
    dataset = H36MDataset(
        root,
        subjects=list(subjects),
        image_size=image_size,
        labels=False,
        box_rounding=box_rounding,
        cache_dir=cache_dir,
    )
    predictions = predict(generator, dataset, batch_size=batch_size, workers=workers)
    pose = predictions["pose"].numpy()
    course = smplx_to_course(
        {
            "global_orient": pose[:, :3],
            "body_pose": pose[:, 3:],
            "betas": predictions["betas"].numpy(),
            "transl": dataset.params["transl"],
        }
    )
    rows = {"id": [dataset.sample_id(i) for i in range(len(dataset))]}
    for key in COLUMNS[1:]:
        rows[key] = [[round(float(x), 6) for x in row] for row in course[key]]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(out, index=False)
    return out
