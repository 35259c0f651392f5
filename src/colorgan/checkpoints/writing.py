"""Writing checkpoints so that a kill at any moment leaves the previous file whole."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

PARTIAL_SUFFIX = ".partial"


def partial_files(target: Path) -> list[Path]:
    """Unfinished writes of ``target`` left behind by a killed process: ``.<name>.<random>.partial``."""
    return sorted(target.parent.glob(f".{target.name}.*{PARTIAL_SUFFIX}"))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_torch_save(obj: Any, target: str | Path) -> None:
    """``torch.save(obj, target)``, all or nothing.

    The bytes go to a hidden temporary file next to ``target``, are flushed to disk, and the file is then renamed
    over ``target`` (``os.replace``: atomic within one folder). Whenever the process dies, ``target`` is either the
    old file or the new one, never a half-written one. Leftovers of earlier killed writes are removed first.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in partial_files(target):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; a checkpoint gets the usual permissions
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's ``TorchCheckpointIO`` with an atomic write for local files (see :func:`atomic_torch_save`).

    Lightning's own local save goes through an fsspec transaction that writes the bytes to a file in the system
    temporary folder (``$TMPDIR``) and then moves it over the checkpoint. When that folder is on another
    filesystem than the checkpoints (a tmpfs ``/tmp``, cluster scratch vs. network home), the move becomes a copy
    into the open checkpoint file, and a job killed during the copy leaves a truncated ``last.ckpt``, plus the
    whole checkpoint orphaned in ``$TMPDIR``. Writing next to the target avoids both. Remote paths (``s3://``,
    ...) keep Lightning's behaviour: an object store's upload is already all or nothing.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        fs, local_path = url_to_fs(str(path))
        if storage_options is not None or not isinstance(fs, LocalFileSystem):
            # remote storage, or Lightning's own error about storage_options
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        atomic_torch_save(checkpoint, local_path)
