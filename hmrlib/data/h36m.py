"""Human3.6M as the course distributes it: cameras, subjects, actions and the on-disk layout.

Layout under a root folder (the same for the real course data and for SynthH36M):
    <root>/H36M_data_st/<Subj>/<Action>.<camid>/<frame>.npz          frames from 0
    <root>/H36M/<Subj>/Images/<Action>.<camid>/{frame+1:06d}.jpg      images from 1
npz keys: betas (10), root_loc (3), root_orient (3), pose_body (63), pose_hand (6),
center_img (2), scale_img () — the person's box is a square of side 200·scale_img pixels.
"""

import json
from pathlib import Path

from hmrlib.body.course_params import COURSE_SIZES
from hmrlib.camera import Intrinsics

CAMERAS = {  # the course's intrinsics, in pixels of the full-resolution images
    "54138969": Intrinsics(1145.0494, 1143.7811, 512.5415, 515.4515, 1000, 1002),
    "55011271": Intrinsics(1149.6757, 1147.5916, 508.8490, 508.0646, 1000, 1000),
    "58860488": Intrinsics(1149.1407, 1148.7989, 519.8158, 501.4026, 1000, 1000),
    "60457274": Intrinsics(1145.5113, 1144.7739, 514.9684, 501.8820, 1000, 1002),
}
TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")  # Human3.6M's (and the course's) training subjects
TEST_SUBJECTS = ("S9", "S11")  # the course hides their labels
# hmrlib's three disjoint roles: fit on four training subjects, choose (best.pt, hyper-parameters)
# on the fifth, and score on the test subjects once
FIT_SUBJECTS = ("S1", "S5", "S6", "S7")
VALIDATION_SUBJECTS = ("S8",)
ACTIONS = (
    "Directions",
    "Discussion",
    "Eating",
    "Greeting",
    "Phoning",
    "Posing",
    "Purchases",
    "Sitting",
    "SittingDown",
    "Smoking",
    "Photo",
    "Waiting",
    "Walking",
    "WalkDog",
    "WalkTogether",
)
NPZ_KEYS = {**COURSE_SIZES, "center_img": 2, "scale_img": 1}
BOX_PIXELS_PER_SCALE = 200.0  # HMR/SPIN convention: box side = 200 * scale_img


def sequence_name(action: str, camera: str) -> str:
    return f"{action}.{camera}"


def params_path(root, subject: str, sequence: str, frame: int) -> Path:
    return Path(root) / "H36M_data_st" / subject / sequence / f"{frame}.npz"


def image_path(root, subject: str, sequence: str, frame: int) -> Path:
    return Path(root) / "H36M" / subject / "Images" / sequence / f"{frame + 1:06d}.jpg"


def parse_sequence(sequence: str) -> tuple[str, str]:
    """'Walking.54138969' -> ('Walking', '54138969'); real H36M names may hold spaces or digits."""
    action, _, camera = sequence.rpartition(".")
    return action, camera


SYNTH_MANIFEST = "synth_manifest.json"  # written by hmrlib.data.synth beside the course layout


def is_synthetic(root) -> bool:
    """True for a SynthH36M folder (results on it must be labelled synthetic)."""
    return (Path(root) / SYNTH_MANIFEST).exists()


# SynthH36M settings added since folders were first made, with the value they had before:
# frames were consecutive before frame_step existed, and people looked as looks 1 before looks
SYNTH_SETTINGS_BEFORE_THEY_EXISTED = {"frame_step": 1, "looks": 1}


def synth_settings(root) -> dict:
    """The settings that made the SynthH36M folder ``root``, as its manifest records them; a
    setting it predates takes the value it had then."""
    saved = json.loads((Path(root) / SYNTH_MANIFEST).read_text()).get("config", {})
    return {**SYNTH_SETTINGS_BEFORE_THEY_EXISTED, **saved}


def data_label(root) -> str:
    """Which data: the course's, or SynthH36M with the generator version of its people's looks
    (hmrlib.data.synth.LOOKS)."""
    if not is_synthetic(root):
        return "Human3.6M (course data)"
    return f"SynthH36M (synthetic, looks {synth_settings(root)['looks']})"


def camera_intrinsics(root, camera: str) -> Intrinsics:
    """The camera's intrinsics for the images under ``root``: SynthH36M's manifest records its
    (scaled) cameras; otherwise the course's full-resolution H36M cameras."""
    if not is_synthetic(root):
        return CAMERAS[camera]
    c = json.loads((Path(root) / SYNTH_MANIFEST).read_text())["cameras"][camera]
    return Intrinsics(c["fx"], c["fy"], c["cx"], c["cy"], c["width"], c["height"])
