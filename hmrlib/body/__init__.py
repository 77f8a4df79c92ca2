"""Body models: official SMPL files, the course's model.npz and hmrlib's free stand-in."""

from hmrlib.body.body_model import STANDIN_PATH, BodyModel, BodyOutput, load_body_model
from hmrlib.body.course_params import COURSE_SIZES, course_to_smplx, smplx_to_course
from hmrlib.body.model_files import ModelFileError

__all__ = [
    "BodyModel",
    "BodyOutput",
    "COURSE_SIZES",
    "ModelFileError",
    "STANDIN_PATH",
    "course_to_smplx",
    "load_body_model",
    "smplx_to_course",
]
