from hmrlib.compat import import_torchvision


def test_torchvision_imports_and_builds_backbones():
    torchvision = import_torchvision()
    model = torchvision.models.resnext50_32x4d(weights=None)
    assert model.fc.in_features == 2048
    assert import_torchvision() is torchvision  # a second call is harmless


import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402

import pytest  # noqa: E402

# stand-ins for the two kinds of torchvision hmrlib meets besides this project's own pins
STANDIN_TORCHVISIONS = {
    # a CUDA torch with its own torchvision (or a CPU torch with a CPU torchvision): importing it
    # registers torchvision::nms itself, as its C++ library does when it loads
    "registers its own ops": """
        import torch
        _ops = torch.library.Library("torchvision", "DEF")
        _ops.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        """,
    # a CPU torch beside a CUDA torchvision: the C++ ops cannot load, and the Python side needs them
    "cannot load its ops": """
        import torch
        if not hasattr(torch.ops.torchvision, "nms"):
            raise RuntimeError("operator torchvision::nms does not exist")
        """,
}


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, env=env or None
    )


@pytest.mark.parametrize("kind", STANDIN_TORCHVISIONS)
def test_import_torchvision_works_with_either_kind_of_torchvision(tmp_path, kind):
    """Rules out declaring the nms schemas before torchvision has tried to load its own ops: a
    torchvision that registers them then fails (on a CUDA server the process aborted, exit 134)."""
    package = tmp_path / "torchvision"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(STANDIN_TORCHVISIONS[kind]) + "__version__ = 'standin'\n")
    result = run_python(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from hmrlib.compat import import_torchvision
        print(import_torchvision().__version__, hasattr(__import__("torch").ops.torchvision, "nms"))
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["standin", "True"]


def test_rendering_needs_no_x11_libraries():
    """A server without X11: every library named libX* fails to load, as where none is installed.
    Rules out importing pyrender without pyglet's headless option (pyglet then loads Xlib and the
    import fails: 'Library "X11" not found', or on a GPU server 'XRenderFindVisualFormat')."""
    result = run_python(
        """
        import ctypes, os
        load = ctypes.CDLL.__init__
        def without_x11(self, name, *args, **kwargs):
            if name and os.path.basename(str(name)).startswith("libX"):
                raise OSError(f"{name}: cannot open shared object file")
            return load(self, name, *args, **kwargs)
        ctypes.CDLL.__init__ = without_x11

        import numpy as np
        from hmrlib.camera import Intrinsics
        from hmrlib.render import Renderer
        triangle = np.array([[-0.5, -0.5, 3.0], [0.5, -0.5, 3.0], [0.0, 0.5, 3.0]])
        image, depth = Renderer().render([(triangle, np.array([[0, 1, 2], [0, 2, 1]]), (1.0, 0.0, 0.0, 1.0))],
                                         Intrinsics(60.0, 60.0, 32.0, 32.0, 64, 64))
        print(int((depth > 0).sum()))
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.split()[-1]) > 100  # the triangle was drawn
