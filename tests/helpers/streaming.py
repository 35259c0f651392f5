"""A callback for streamed runs in their own processes: the photo names of every training batch, per rank."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L


class StreamedNames(L.Callback):
    """Append ``{"epoch", "batch", "names"}`` after every training batch to ``folder/names_rank<R>.jsonl`` (one
    line per batch, written at once: a process killed later leaves every batch it finished)."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"epoch": trainer.current_epoch, "batch": batch_idx, "names": list(batch["name"])})
        with open(self.folder / f"names_rank{trainer.global_rank}.jsonl", "a") as f:
            f.write(line + "\n")


def read_names(folder: Path, rank: int = 0) -> list[tuple[int, int, list[str]]]:
    """What :class:`StreamedNames` wrote for ``rank``, as ``(epoch, batch, names)``; [] when nothing yet."""
    path = Path(folder) / f"names_rank{rank}.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]
    return [(r["epoch"], r["batch"], r["names"]) for r in rows]
