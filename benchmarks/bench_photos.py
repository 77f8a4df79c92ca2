"""Does the mesh line up with the person? On photographs that ship with installed packages
(scikit-image's astronaut and cameraman, matplotlib's Grace Hopper, and the two pasted into one
canvas), each detected person's predicted SMPL joints projected into the photo against
BlazePose's landmarks on the 12 limb joints both name (hmrlib.people.agreement): mean distance
over the box side and the share of joints within 0.1 and 0.2 of it (PCK), pooled over the
people. The reference to beat: the checkpoint's own mean pose and shape placed in the same box.
Each checkpoint twice: the network alone and fitted to the keypoints (predict's default). A
second measure that does not use the landmarks: the mesh's silhouette against MediaPipe's person
mask (its segmentation output) in the person's box, as intersection over union.

    python benchmarks/bench_photos.py --checkpoint runs/ablation/cpu/resnet50/seed0/checkpoints/best.pt \
        [--checkpoint ...]
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detector import scenes  # noqa: E402  (the same photographs)

from hmrlib.data.crop import crop_camera, crop_square  # noqa: E402
from hmrlib.fitting import KeypointFitter  # noqa: E402
from hmrlib.people.agreement import limb_distances, summary  # noqa: E402
from hmrlib.people.detect import PersonDetector  # noqa: E402
from hmrlib.people.predict import find_jobs, placed_predictions, predict_jobs  # noqa: E402
from hmrlib.render import Renderer  # noqa: E402

MASK_SIZE = 256  # pixels: the box is compared at this size


def person_mask(image, box) -> np.ndarray:
    """(S, S) bool: MediaPipe's person mask of the box's square crop."""
    from mediapipe.python.solutions.pose import Pose

    with Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True) as pose:
        result = pose.process(crop_square(image, *box, MASK_SIZE))
    if result.segmentation_mask is None:
        return np.zeros((MASK_SIZE, MASK_SIZE), bool)
    return result.segmentation_mask > 0.5


def silhouette_iou(prediction, faces, mask) -> float:
    """Intersection over union of the mesh's silhouette and ``mask`` in the box's crop."""
    camera = crop_camera(prediction.intrinsics, *prediction.box, MASK_SIZE)
    _, depth = Renderer().render([(prediction.vertices, faces, (1.0, 1.0, 1.0, 1.0))], camera)
    silhouette = depth > 0
    return float((silhouette & mask).sum() / max((silhouette | mask).sum(), 1))


from hmrlib.train.trained import load_trained  # noqa: E402


def mean_pose_predictions(trained, jobs, image_size):
    """The checkpoint's mean pose and shape (its heads' starting point), placed in each job's box."""
    from hmrlib.data.crop import crop_square

    generator = trained.generator
    count = len(jobs)
    pose, betas = generator.mean_pose.expand(count, -1).cpu(), generator.mean_betas.expand(count, -1).cpu()
    with torch.no_grad():
        mesh = trained.body.mesh(pose, betas)
    crops = [crop_square(job.image, *job.box, image_size) for job in jobs]
    return placed_predictions(jobs, crops, pose.numpy(), betas.numpy(), mesh)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, action="append", required=True)
    args = parser.parse_args()
    detector = PersonDetector()
    jobs = [job for _, image, _ in scenes() for job in find_jobs(image, detector) if job.keypoints is not None]
    print(f"{len(jobs)} people detected in {len(scenes())} photographs")
    masks = [person_mask(job.image, job.box) for job in jobs]
    rows = []
    for path in args.checkpoint:
        trained = load_trained(path, device="cpu")
        size, faces = trained.config.data.image_size, trained.body.faces
        fitter = KeypointFitter(trained.body)
        for name, predictions in (
            (f"{path}", predict_jobs(trained.generator, trained.body, jobs, size)),
            (f"{path} + fit", predict_jobs(trained.generator, trained.body, jobs, size, fitter)),
            ("its mean pose and shape, placed in the same boxes", mean_pose_predictions(trained, jobs, size)),
        ):
            distances = np.concatenate([limb_distances(p.joints_2d, p.keypoints, p.box[1]) for p in predictions])
            iou = np.mean([silhouette_iou(p, faces, mask) for p, mask in zip(predictions, masks)])
            rows.append((name, {**summary(distances), "iou": iou}))
    print(f"{'model':<70} {'joints':>6} {'mean/side':>9} {'PCK@0.1':>8} {'PCK@0.2':>8} {'mask IoU':>8}")
    for name, row in rows:
        print(
            f"{name[-70:]:<70} {row['joints']:>6} {row['mean_distance']:>9.3f} "
            f"{100 * row['pck_0.1']:>7.0f}% {100 * row['pck_0.2']:>7.0f}% {row['iou']:>8.2f}"
        )


if __name__ == "__main__":
    main()
