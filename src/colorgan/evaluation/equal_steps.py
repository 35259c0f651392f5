"""The quality table at equal steps: ``python -m colorgan.evaluation.equal_steps SWEEP_DIR [--batches N]``.

A quality table (``+compare=recipes``) gives every recipe the same wall-clock time; a heavier network then runs
fewer batches, on a CPU far fewer. With ``callbacks.batch_checkpoints.every_n_batches`` set (the preset sets it),
each job left ``checkpoints/batches-NNNNNN.ckpt`` on the way. This command takes the largest batch count that every
job of the sweep reached (or ``--batches N``), tests each job's checkpoint at that count on the test split as the
sweep's test did (:mod:`colorgan.evaluation.retest`: same per-photo scores, same gray baseline), leaves each test
record in ``<job>/equal_steps/batches-NNNNNN/`` and writes into the sweep folder ``equal_steps.md``,
``equal_steps.json`` and ``equal_steps.png``: the tables of ``quality.md`` (each recipe's mean with its 95 %
interval, the paired differences over source photos and seeds), with the batch count stated.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from tqdm import tqdm

from colorgan.checkpoints.batches import batches_file, saved_batch_counts
from colorgan.evaluation.quality_report import write_quality_report
from colorgan.evaluation.retest import job_config, retest_checkpoint
from colorgan.evaluation.sweep_summary import RESULT_FILE, read_results

log = logging.getLogger(__name__)

STEM = "equal_steps"


def common_batch_count(results: list[dict[str, Any]], batches: int | None = None) -> int:
    """The largest batch count at which every job saved a checkpoint, or ``batches`` when every job saved it.

    Raises:
        SystemExit: a job saved none, or no count (``batches``) is common to all; the message says which job
            reached what and what to do.
    """
    counts = {int(r["job"]): set(saved_batch_counts(Path(r["output_dir"]) / "checkpoints")) for r in results}
    empty = [r["output_dir"] for r in results if not counts[int(r["job"])]]
    if empty:
        raise SystemExit(
            f"{', '.join(empty)}: no checkpoints/batches-*.ckpt. The sweep ran without "
            "callbacks.batch_checkpoints.every_n_batches (conf/compare/recipes.yaml sets it to 50): train the sweep "
            "again with it set to compare at equal steps"
        )
    reached = ", ".join(f"job {job} up to {max(c)}" for job, c in sorted(counts.items()))
    common = set.intersection(*counts.values())
    if batches is not None:
        if batches not in common:
            raise SystemExit(
                f"--batches {batches}: not every job saved batches-{batches:06d}.ckpt ({reached}; "
                f"counts all saved: {', '.join(map(str, sorted(common))) or 'none'})"
            )
        return batches
    if not common:
        raise SystemExit(
            f"the jobs saved no batch count in common ({reached}): were they trained with different "
            "callbacks.batch_checkpoints.every_n_batches? Give one with --batches N"
        )
    return max(common)


def write_equal_steps(sweep_dir: Path, batches: int | None = None, accelerator: str | None = None) -> dict[str, Any]:
    """Test every job of the sweep at the common batch count and write ``equal_steps.{md,json,png}``; returns the
    content of ``equal_steps.json``."""
    results = read_results(sweep_dir)
    if not results:
        raise SystemExit(
            f"{sweep_dir}: no */{RESULT_FILE}: not the folder of a finished multirun (the one holding quality.md)"
        )
    count = common_batch_count(results, batches)
    for result in tqdm(results, desc=f"Testing at {count} batches", unit="job", disable=None):
        out = Path(result["output_dir"]) / STEM / f"batches-{count:06d}"
        ckpt = batches_file(Path(result["output_dir"]) / "checkpoints", count)
        retest_checkpoint(job_config(result["output_dir"]), ckpt, out, accelerator=accelerator)
        result["test_dir"] = str(out)
    report = write_quality_report(
        sweep_dir,
        results,
        stem=STEM,
        tested_with=f"its batches-{count:06d}.ckpt: the weights after {count} training batches, the same for every "
        "job (equal steps; quality.md compares them at equal time)",
        extra={"batches": count},
        heading=f"Colour quality at equal steps ({count} training batches)",
    )
    assert report is not None  # every job was just tested
    return report


def main(argv: list[str] | None = None) -> None:
    """``python -m colorgan.evaluation.equal_steps SWEEP_DIR [--batches N]``: the quality table of a sweep at equal
    training batches."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("sweep_dir", type=Path, help="a quality table's sweep folder (the one holding quality.md)")
    parser.add_argument(
        "--batches", type=int, help="the batch count to compare at (default: the largest that every job saved)"
    )
    parser.add_argument("--accelerator", help="test on this accelerator (cpu, gpu, ...) instead of the jobs' own")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report = write_equal_steps(args.sweep_dir, args.batches, args.accelerator)
    print(f"Wrote {args.sweep_dir / (STEM + '.md')} and {STEM}.json (at {report['batches']} batches)")


if __name__ == "__main__":
    main()
