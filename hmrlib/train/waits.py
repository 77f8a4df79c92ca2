"""Counting the places where a training step would make the host wait for the GPU — on any device.

A GPU runs the step's kernels while the host queues the next ones. The host stops and waits when
it needs a value back — ``.item()``, ``bool(t)``, ``.tolist()``, a result whose shape depends on
the data (boolean-mask indexing, ``nonzero``, ``unique``), a linear-algebra error check — or when
it copies pageable host memory into the device (``torch.tensor(list)``, a numpy array, a list
used as an index). :class:`WaitCounter` sees every ATen operation the step dispatches (a
``TorchDispatchMode``, so a new kind of wait inside torch, PyG or smplx is seen as well) and the
Python-level reads that dispatch nothing on the CPU (``tolist``, ``numpy``), so a run on the CPU
names each place where a run on a GPU would wait, as ``file:line (operation)``.

Not seen on the CPU: a draw on a host random generator moved to the device (on the CPU there is
nothing to move); hmrlib's trainer draws on generators that live on its device.
"""

import traceback
from collections import Counter
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten
# the result's size or value is needed on the host: the host waits for the queue to drain
HOST_READS = {
    aten._local_scalar_dense.default,  # item, bool, int, float, `if tensor:`
    aten.nonzero.default,
    aten.masked_select.default,
    aten.equal.default,
    aten.is_nonzero.default,
    aten._linalg_check_errors.default,  # torch.linalg.inv and friends check for singular input
    aten.bincount.default,
    aten.unique_consecutive.default,
    aten._unique2.default,
    aten.unique_dim.default,
}
# a tensor made from Python or numpy data: on a GPU a copy of pageable memory, which waits
HOST_DATA = {aten.lift_fresh.default, aten.lift_fresh_copy.default}
OWN_CODE = ("hmrlib", "torch_geometric", "smplx")  # where a wait is attributed


def _is_mask(index) -> bool:
    return torch.is_tensor(index) and index.dtype in (torch.bool, torch.uint8)


def _kind(func, args, kwargs) -> str | None:
    """Why ``func(*args, **kwargs)`` would make the host wait on a GPU, or None."""
    if func in HOST_READS:
        return str(func.overloadpacket.__name__)
    if func in HOST_DATA and args[0].dim() > 0:  # a Python scalar goes to a kernel by value: no copy
        return "tensor from host data"
    if func.overloadpacket in (aten.index, aten.index_put, aten.index_put_) and any(map(_is_mask, args[1])):
        return "boolean-mask index"
    if func.overloadpacket is aten.repeat_interleave and kwargs.get("output_size") is None and torch.is_tensor(args[0]):
        if len(args) == 1 or torch.is_tensor(args[1]):
            return "repeat_interleave without output_size"
    if func.overloadpacket in (aten._to_copy, aten.copy_):
        source = args[1] if func.overloadpacket is aten.copy_ else args[0]
        target = args[0].device if func.overloadpacket is aten.copy_ else kwargs.get("device", source.device)
        if torch.is_tensor(source) and source.device.type != torch.device(target).type:
            return f"copy {source.device.type} -> {torch.device(target).type}"
    return None


def _where() -> str:
    """The innermost frame of hmrlib, PyG or smplx on the stack, as 'package/file.py:line'."""
    for frame in reversed(traceback.extract_stack()):
        if frame.filename == __file__:
            continue  # the counter itself
        parts = Path(frame.filename).parts
        for package in OWN_CODE:
            if package in parts:
                return f"{'/'.join(parts[parts.index(package) :])}:{frame.lineno}"
    return "torch"


class WaitCounter(TorchDispatchMode):
    """``with WaitCounter() as waits: trainer.step(batch)``; then ``waits.places`` counts
    'file:line (why)' and ``waits.total`` the waits."""

    PYTHON_READS = ("tolist", "numpy", "__array__")

    def __init__(self):
        super().__init__()
        self.places: Counter = Counter()

    @property
    def total(self) -> int:
        return sum(self.places.values())

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        kind = _kind(func, args, kwargs)
        if kind is not None:
            self.places[f"{_where()} ({kind})"] += 1
        return func(*args, **kwargs)

    def __enter__(self):
        self._originals = {name: getattr(torch.Tensor, name) for name in self.PYTHON_READS}
        for name, original in self._originals.items():
            setattr(torch.Tensor, name, self._counting(name, original))
        return super().__enter__()

    def __exit__(self, *exc):
        for name, original in self._originals.items():
            setattr(torch.Tensor, name, original)
        return super().__exit__(*exc)

    def _counting(self, name, original):
        def read(tensor, *args, **kwargs):
            self.places[f"{_where()} ({name})"] += 1
            return original(tensor, *args, **kwargs)

        return read
