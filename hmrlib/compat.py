"""Environment fixes that must run before torchvision or OpenGL is imported.

Every torchvision import in hmrlib goes through :func:`import_torchvision`, and every
module that renders calls :func:`configure_opengl` first.
"""

import os
import sys

import torch

_TORCHVISION_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_torchvision_lib = None  # kept alive: dropping the Library object unregisters the schemas


def import_torchvision():
    """Import torchvision as it is; declare the `nms` schemas only when that import fails for
    want of them, then import it again.

    The one case: a CPU-only torch beside a CUDA-built torchvision (0.28.0 from PyPI, this
    project's CPU pins), whose C++ ops cannot load, so ``import torchvision`` fails with
    "operator torchvision::nms does not exist" (pytorch/vision#9085). Declaring the schemas
    lets the Python side import; the operators stay unimplemented and hmrlib never calls them.
    Declaring them *before* a working torchvision loads its ops (a CUDA torch with its own
    torchvision, or a CPU torchvision) would make its C++ registration of `nms` abort the
    process ("registered ... multiple times"), so the first attempt is always the plain import.
    """
    global _torchvision_lib
    try:
        import torchvision
    except RuntimeError as error:
        if "torchvision::nms" not in str(error) or _torchvision_lib is not None:
            raise
        for name in [name for name in sys.modules if name == "torchvision" or name.startswith("torchvision.")]:
            del sys.modules[name]  # the half-imported package, so that the retry runs it again
        _torchvision_lib = torch.library.Library("torchvision", "DEF")
        for schema in _TORCHVISION_SCHEMAS:
            _torchvision_lib.define(schema)
        import torchvision
    return torchvision


def configure_opengl(platform: str | None = None) -> str:
    """Choose headless OpenGL before PyOpenGL or pyglet is first imported.

    EGL is the default (Mesa on a CPU, the driver on a GPU). OSMesa is a documented
    fallback, but fails with the PyOpenGL 3.1.0 that pyrender 0.1.45 pins. An explicit
    ``PYOPENGL_PLATFORM`` set by the user wins.

    pyrender imports pyglet (for its viewer), and pyglet loads Xlib unless told it is headless:
    on a server without X11 libraries that import fails ("'NoneType' object has no attribute
    'XRenderFindVisualFormat'"). Environment variables, so that worker processes inherit them.
    """
    os.environ.setdefault("PYOPENGL_PLATFORM", platform or "egl")
    if os.environ["PYOPENGL_PLATFORM"] == "egl":
        os.environ.setdefault("PYGLET_HEADLESS", "true")
        # under torchrun each rank renders on its own GPU (pyrender's EGL takes device 0 otherwise);
        # on a CPU (Mesa) there is one EGL device for every rank
        if "LOCAL_RANK" in os.environ and torch.cuda.is_available():
            os.environ.setdefault("EGL_DEVICE_ID", os.environ["LOCAL_RANK"])
    return os.environ["PYOPENGL_PLATFORM"]
