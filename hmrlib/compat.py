"""Environment fixes that must run before torchvision or OpenGL is imported.

Every torchvision import in hmrlib goes through :func:`import_torchvision`, and every
module that renders calls :func:`configure_opengl` first.
"""

import os

import torch

_TORCHVISION_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_torchvision_lib = None  # kept alive: dropping the Library object unregisters the schemas


def import_torchvision():
    """Import torchvision, registering the `nms` schemas a CUDA-built wheel fails to load.

    torchvision 0.28.0 from PyPI is a CUDA build; on a CPU-only torch its C++ ops are not
    registered and ``import torchvision`` fails with "operator torchvision::nms does not
    exist" (pytorch/vision#9085). Declaring the schemas lets the Python side import; the
    operators themselves stay unimplemented, and hmrlib never calls them.
    """
    global _torchvision_lib
    if _torchvision_lib is None and not hasattr(torch.ops.torchvision, "nms"):
        _torchvision_lib = torch.library.Library("torchvision", "DEF")
        for schema in _TORCHVISION_SCHEMAS:
            _torchvision_lib.define(schema)
    import torchvision

    return torchvision


def configure_opengl(platform: str | None = None) -> str:
    """Choose the headless OpenGL platform before PyOpenGL is first imported.

    EGL is the default (Mesa on a CPU, the driver on a GPU). OSMesa is a documented
    fallback, but fails with the PyOpenGL 3.1.0 that pyrender 0.1.45 pins.
    An explicit ``PYOPENGL_PLATFORM`` set by the user wins.
    """
    os.environ.setdefault("PYOPENGL_PLATFORM", platform or "egl")
    return os.environ["PYOPENGL_PLATFORM"]
