"""A cache of the network's input crops: uint8 (N, S, S, 3) in one memory-mapped file.

Decoding a JPEG and cropping it costs more than a training step at small sizes, so the crops of
a dataset are built once per (data, crop size) and read back from disk. Building decodes every
image, so it is also where a corrupt image is found: such samples are left out of the file and
reported in :attr:`CropCache.bad`, and the dataset leaves them out too.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from hmrlib.data.crop import crop_square
from hmrlib.data.files import BadSampleError, load_image
from hmrlib.data.h36m import image_path
from hmrlib.progress import progress_bar

CACHE_VERSION = 2  # 2: boxes may be (width, height); keyed by the images' sizes and times


class CropCache:
    def __init__(self, crops: np.memmap, bad: list):
        self.crops = crops  # (N kept, S, S, 3) uint8, read-only
        self.bad = bad  # [(key, image path, problem)] of the samples left out

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, row: int) -> np.ndarray:
        return np.array(self.crops[row])  # a writable copy of the memory-mapped row

    @classmethod
    def open_or_build(
        cls, cache_dir, root, keys: list, boxes: list, image_size: int, progress: bool = True
    ) -> "CropCache":
        """The cache of ``keys`` (each (subject, sequence, frame)) cropped to ``boxes`` (each
        (centre (2,), side or (width, height))); built on first use, then reused while the keys,
        boxes, size and every image file (its size and modification time) match: an image
        replaced under a warm cache makes a new one."""
        cache_dir, root = Path(cache_dir), Path(root)
        text = json.dumps(
            [
                CACHE_VERSION,
                str(root.resolve()),
                image_size,
                keys,
                [
                    [*np.asarray(c, dtype=np.float64).tolist(), *np.atleast_1d(s).astype(np.float64).tolist()]
                    for c, s in boxes
                ],
                [_file_stamp(image_path(root, *key)) for key in keys],
            ]
        )
        name = cache_dir / f"crops_{image_size}_{hashlib.sha1(text.encode()).hexdigest()[:16]}"
        data_path, meta_path = name.with_suffix(".u8"), name.with_suffix(".json")
        if not meta_path.exists():
            cls._build(data_path, meta_path, root, keys, boxes, image_size, progress)
        meta = json.loads(meta_path.read_text())
        crops = np.memmap(data_path, dtype=np.uint8, mode="r", shape=(meta["kept"], image_size, image_size, 3))
        return cls(crops, [(tuple(key), path, problem) for key, path, problem in meta["bad"]])

    @staticmethod
    def _build(data_path: Path, meta_path: Path, root: Path, keys, boxes, image_size: int, progress: bool):
        data_path.parent.mkdir(parents=True, exist_ok=True)
        partial = data_path.with_suffix(".partial")
        crops = np.memmap(partial, dtype=np.uint8, mode="w+", shape=(len(keys), image_size, image_size, 3))
        jobs = _CropJobs(root, keys, boxes, image_size)
        loader = torch.utils.data.DataLoader(
            jobs,
            batch_size=32,
            num_workers=min(4, torch.get_num_threads()),
            collate_fn=list,
            generator=torch.Generator(),  # starting workers draws a seed: not from the global RNG
        )
        bad = []
        with progress_bar(len(keys), desc=f"caching {image_size}px crops", unit="img", disable=not progress) as bar:
            for batch in loader:
                for index, crop, problem in batch:
                    if problem is None:
                        crops[index] = crop
                    else:
                        bad.append((index, *problem))
                bar.update(len(batch))
        crops.flush()
        if bad:  # rewrite without the bad rows so that rows stay dense
            keep = np.setdiff1d(np.arange(len(keys)), [index for index, *_ in bad])
            dense = np.memmap(data_path, dtype=np.uint8, mode="w+", shape=(len(keep), image_size, image_size, 3))
            dense[:] = crops[keep]
            dense.flush()
            del crops, dense
            partial.unlink()
        else:
            del crops
            partial.rename(data_path)
        meta_path.write_text(
            json.dumps({"kept": len(keys) - len(bad), "bad": [(keys[i], path, problem) for i, path, problem in bad]})
        )


def _file_stamp(path: Path) -> tuple[int, int]:
    """(size in bytes, modification time in ns) of a file; (-1, -1) for a missing one (the cache
    build reports it as a bad sample)."""
    try:
        stat = path.stat()
    except OSError:
        return -1, -1
    return stat.st_size, stat.st_mtime_ns


class _CropJobs(torch.utils.data.Dataset):
    """Decodes and crops one sample for the cache build, returning problems instead of raising."""

    def __init__(self, root: Path, keys, boxes, image_size: int):
        self.root, self.keys, self.boxes, self.image_size = root, keys, boxes, image_size

    def __len__(self):
        return len(self.keys)

    def __getitem__(self, index):
        try:
            image = load_image(image_path(self.root, *self.keys[index]))
        except BadSampleError as err:
            return index, None, (str(err.path), err.problem)
        return index, crop_square(image, *self.boxes[index], self.image_size), None
