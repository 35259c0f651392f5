"""Re-save a checkpoint so that every tensor in it is recorded as saved from ``cuda:0``, as on a GPU run.

``python -m helpers.cuda_tagged IN.ckpt OUT.ckpt`` (``tests/`` on ``PYTHONPATH``). It runs in a process of its own
because it registers a storage tagger with ``torch.serialization`` for the whole process. Loaded without a
``map_location`` on a machine without CUDA, the result fails exactly like a real GPU checkpoint; resuming from it
must work anyway.
"""

from __future__ import annotations

import sys

import torch
from torch.serialization import register_package


def _tag_as_cuda(storage: torch.UntypedStorage) -> str | None:
    return "cuda:0" if storage.device.type == "cpu" else None


def _leave_to_torch(storage: torch.UntypedStorage, location: str) -> None:
    return None  # loading is torch's own business: this only changes how the file is written


def main(src: str, dst: str) -> None:
    ckpt = torch.load(src, map_location="cpu", weights_only=True)
    register_package(0, _tag_as_cuda, _leave_to_torch)  # 0: asked before torch's own cpu tagger (10)
    torch.save(ckpt, dst)


if __name__ == "__main__":
    main(*sys.argv[1:3])
