"""Turning ``ckpt_path`` (a file or ``last``) into the checkpoint to resume from, loudly."""

from __future__ import annotations

import logging
from pathlib import Path

from colorgan.checkpoints.reading import CheckpointError, architecture_mismatch, read_colorgan_checkpoint

log = logging.getLogger(__name__)

LAST = "last.ckpt"


class ResumeError(CheckpointError):
    """``ckpt_path`` cannot be honoured. The message says what was searched and what to do."""


def _last_in(run_dir: Path) -> Path | None:
    path = run_dir / "checkpoints" / LAST
    return path if path.is_file() else None


def find_last_checkpoint(output_dir: str | Path) -> tuple[Path, Path]:
    """``(checkpoint, run_dir)`` for ``ckpt_path=last``.

    The output folder's own ``checkpoints/last.ckpt`` comes first. A new run gets a new time-stamped folder, so
    when that has none, the newest ``*/checkpoints/last.ckpt`` among its sibling runs (same experiment) is used and
    the run continues in that folder.
    """
    output_dir = Path(output_dir)
    own = _last_in(output_dir)
    if own is not None:
        return own, output_dir
    runs_root = output_dir.parent
    candidates = sorted(
        (p for p in runs_root.glob(f"*/checkpoints/{LAST}") if p.is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    if not candidates:
        raise ResumeError(
            f"ckpt_path=last: there is no checkpoints/{LAST} in {output_dir} nor in any other run under "
            f"{runs_root}. Nothing to resume: drop ckpt_path to start a new run, pass the run's folder with "
            "paths.output_dir=DIR, or give the file itself with ckpt_path=/path/to/file.ckpt."
        )
    return candidates[0], candidates[0].parent.parent


def resolve_ckpt_path(
    ckpt_path: str | Path | None, output_dir: str | Path, model_hparams: dict | None = None
) -> tuple[Path | None, Path]:
    """Validate ``ckpt_path`` before any training starts.

    Returns ``(checkpoint or None, output_dir to use)``; the output folder changes only when ``last`` is found
    in another run's folder. Raises :class:`ResumeError` / :class:`CheckpointError` with a message naming the file.
    """
    output_dir = Path(output_dir)
    if ckpt_path in (None, "", "null"):
        existing = _last_in(output_dir)
        if existing is not None:
            raise ResumeError(
                f"paths.output_dir {output_dir} already holds {existing}. Pass ckpt_path=last to resume that run, "
                "or choose another paths.output_dir for a new one (nothing was overwritten)."
            )
        return None, output_dir
    if str(ckpt_path) == "last":
        path, run_dir = find_last_checkpoint(output_dir)
    else:
        path, run_dir = Path(str(ckpt_path)).expanduser(), output_dir
        if not path.is_file():
            raise ResumeError(
                f"ckpt_path '{path}' does not exist. Give the path of a .ckpt file, or ckpt_path=last to resume "
                "the newest run of this experiment."
            )
    ckpt = read_colorgan_checkpoint(path)
    if model_hparams is not None:
        diff = architecture_mismatch(ckpt, model_hparams)
        if diff:
            raise ResumeError(
                f"checkpoint '{path}' was trained with another architecture than this config:\n  "
                + "\n  ".join(diff)
                + "\nUse the same settings as the checkpoint's run (see its config.yaml) to resume it."
                + (
                    "\nTo add colour hints to a trained model, start a new run from it instead: "
                    f"+recipe=hints model.init_from={path} (conf/recipe/hints.yaml: a hinted model that follows its "
                    "points)"
                    if any(line.startswith("model.generator.in_channels") for line in diff) else ""
                )
            )
    epoch, step = ckpt.get("epoch", "?"), ckpt.get("global_step", "?")
    if run_dir.resolve() != output_dir.resolve():
        log.warning("RESUMING the run in %s from %s (epoch %s, global step %s)", run_dir, path, epoch, step)
    else:
        log.warning("RESUMING from %s (epoch %s, global step %s)", path, epoch, step)
    return path, run_dir
