"""What the page does when photos are dropped: colorize them into a job folder, one result row per file, and a zip.

Nothing here imports Gradio: the page (:mod:`colorgan.app.page`) hands these functions the paths of the uploaded
files and shows what they return, so they are tested without a browser.

A job folder holds, for photos ``beach.jpg`` and ``logo.png`` (transparent)::

    job-<n>/beach.jpg                 the colour photo, as colorgan-colorize names it: JPEG for JPEG inputs, else
    job-<n>/logo.png                  PNG, and PNG whenever the result has transparency
    job-<n>/beach_compare.jpg         with the side-by-side asked for: input | colorized
    job-<n>/before/beach.jpg          the input as the model read it (gray or colour, orientation applied), at the
                                      photo's own size: the "before" half of the slider; not in the zip (PNG with
                                      the result's transparency for a transparent photo)
    job-<n>/colorized.zip             every result and side-by-side, in a folder colorized-job-<n>/ (deleted with
                                      its job, like everything in the folder)
    job-<n>/.job.json                 when the job started and which uploads it took (for :func:`prune_jobs`)

Retention: after each job the page keeps the newest ``--keep-jobs`` job folders, fewer when they and the uploads
would take more than ``--max-temp-gb`` (the newest job is always kept), and deletes the older ones, with every
upload no kept job took that was dropped before the oldest kept job started, and the empty ``tmp*`` files Gradio
leaves behind (:func:`prune_jobs`). So the temporary folder holds a bounded number of jobs and bytes, whatever runs
for days.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from colorgan.data.decode import DEFAULT_MAX_PIXELS
from colorgan.inference.colorizer import ColorizedPhoto, Colorizer
from colorgan.inference.hints import HintPoint
from colorgan.inference.outputs import COMPARE_SUFFIX, output_suffix, save_image, source_exif
from colorgan.training.grid import side_by_side

log = logging.getLogger(__name__)

ZIP_NAME = "colorized.zip"
JOB_RECORD = ".job.json"
# Gradio keeps each upload in a folder named by the SHA of its content, directly under its temporary folder
_UPLOAD_FOLDER = re.compile(r"[0-9a-f]{40,128}")
# ... and leaves empty files behind there (tempfile's names: tmp + 8 characters), one every few requests
_EMPTY_TEMP_FILE = re.compile(r"tmp[a-z0-9_]{6,12}(\.[A-Za-z0-9]+)?")
EMPTY_FILE_AGE_S = 60  # an empty tmp* file younger than this may be one being written: it stays
BEFORE_QUALITY = 90  # the slider's "before" image is a preview of what the model read, not a result
Progress = Callable[[float, str], None]
REGRESSION = "a regression model (model.head=regression) predicts ab directly: it takes no temperature (vividness)"


def checkpoint_labels(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Short names for checkpoint files, for the model menu: the file name, or as many of its last folders as it
    takes to tell it from the others.

    >>> checkpoint_labels(["runs/a/checkpoints/last.ckpt", "runs/b/checkpoints/last.ckpt", "best.ckpt"])
    ['a/checkpoints/last.ckpt', 'b/checkpoints/last.ckpt', 'best.ckpt']
    """
    parts = [Path(p).parts[len(Path(p).anchor) > 0 :] for p in paths]
    depth = [1] * len(parts)
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth)]
        clashing = [i for i, label in enumerate(labels) if labels.count(label) > 1 and depth[i] < len(parts[i])]
        if not clashing:
            return labels
        for i in clashing:
            depth[i] += 1


class Models:
    """The checkpoints given on the command line, loaded once, chosen by their label.

    The page sends a label, never a path: only files named on the command line are ever read as checkpoints.

    Args:
        checkpoints: training checkpoints or ``colorgan-export --format weights`` files.
        device, size, max_pixels: as for :meth:`Colorizer.from_checkpoint`.
        temperature: the vividness every classification model starts at (``None``: its own); refused when none is.

    Raises:
        CheckpointError: a file is missing or not a colorgan model (the message names it).
        ValueError: no checkpoint, the same file twice, a device that is not there, or a refused temperature.
    """

    def __init__(
        self,
        checkpoints: Sequence[str | os.PathLike],
        *,
        device: str = "auto",
        size: int | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        temperature: float | None = None,
    ) -> None:
        if not checkpoints:
            raise ValueError("give at least one checkpoint (--ckpt PATH)")
        resolved = [Path(p).expanduser().resolve() for p in checkpoints]
        if len(set(resolved)) != len(resolved):
            raise ValueError(f"the same checkpoint is given twice: {', '.join(map(str, checkpoints))}")
        self.paths = dict(zip(checkpoint_labels(resolved), resolved))
        self._colorizers = {
            label: Colorizer.from_checkpoint(path, size=size, device=device, max_pixels=max_pixels)
            for label, path in self.paths.items()
        }
        # One photo at a time per model: the page's queue already runs one job at a time, this also covers
        # anything calling the handlers from several threads.
        self._locks = {label: threading.Lock() for label in self.paths}
        annealed = [c for c in self._colorizers.values() if c.temperature is not None]
        if temperature is not None and not annealed:
            raise ValueError(f"{', '.join(map(str, resolved))}: {REGRESSION}")
        for colorizer in annealed if temperature is not None else []:
            colorizer.temperature = temperature  # outside [0, 1] is refused, saying why
        self._temperatures = {label: c.temperature for label, c in self._colorizers.items()}  # as loaded

    @property
    def labels(self) -> list[str]:
        """The labels, in the order the checkpoints were given; the first is the default."""
        return list(self.paths)

    def get(self, label: str | None) -> tuple[str, Colorizer]:
        """The label and the colorizer for ``label`` (``None``: the first model).

        Raises:
            ValueError: ``label`` is not one of :attr:`labels`.
        """
        if label is None:
            label = self.labels[0]
        if label not in self._colorizers:
            raise ValueError(f"no model called {label!r}; the models are: {', '.join(self.labels)}")
        return label, self._colorizers[label]

    def colorize(
        self, label: str, path: Path, points: Sequence[HintPoint] | None = None, temperature: float | None = None
    ) -> ColorizedPhoto:
        """Colorize one file with the model ``label``, keeping the decoded input (see
        :meth:`Colorizer.colorize_batch`: an unreadable file comes back with ``error`` set).

        ``points``: colour points in the photo's own pixels, for a model trained with hints (``None``: none).
        ``temperature``: a classification model's vividness for this photo alone (its own is back afterwards).

        Raises:
            HintError: points for a model trained without hints.
            ValueError: a temperature for a regression model, or one outside [0, 1].
        """
        label, colorizer = self.get(label)
        with self._locks[label]:
            own = colorizer.temperature
            if temperature is not None:
                colorizer.temperature = temperature  # a regression model refuses it, saying why
            try:
                hints = None if points is None else [list(points)]
                return colorizer.colorize_batch([path], keep_input=True, hints=hints)[0]
            finally:
                if own is not None:
                    colorizer.temperature = own

    def temperature(self, label: str | None) -> float | None:
        """The model ``label``'s own temperature, as loaded (never a job's); ``None`` for a regression model."""
        return self._temperatures[self.get(label)[0]]

    def takes_hints(self, label: str | None) -> bool:
        """True when the model ``label`` was trained with colour hints (``model.hints.enabled``)."""
        return self.get(label)[1].takes_hints

    def describe(self) -> str:
        """One line per model: label, file, size it runs at, device."""
        return "\n".join(
            f"{label}: {self.paths[label]} ({c.size} px on {c.device})" for label, c in self._colorizers.items()
        )


@dataclass
class PhotoResult:
    """One dropped file and what became of it.

    Attributes:
        name: the file's name as it was dropped (no folders).
        output: the colour photo, at the input's width and height; ``None`` when it failed.
        before: the input as the model read it, the same size as ``output`` (for the before/after slider).
        compare: the side-by-side ``input | colorized``, when asked for.
        size: ``(width, height)`` of the photo.
        error: why it failed, naming the file; ``None`` on success.
        notes: things worth knowing (e.g. a retry after running out of GPU memory).
    """

    name: str
    output: Path | None = None
    before: Path | None = None
    compare: Path | None = None
    size: tuple[int, int] | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Batch:
    """What one press of *Colorize* made: a row per file, in the order given, and the zip of the results."""

    model: str
    rows: list[PhotoResult]
    zip: Path | None
    folder: Path

    @property
    def done(self) -> list[PhotoResult]:
        return [r for r in self.rows if r.error is None]

    @property
    def failed(self) -> list[PhotoResult]:
        return [r for r in self.rows if r.error is not None]

    def summary(self) -> str:
        """One line for the page, e.g. ``Colorized 2 of 3 photos with last.ckpt; 1 could not be done.``"""
        text = f"Colorized {len(self.done)} of {len(self.rows)} photo(s) with {self.model}"
        if self.failed:
            text += f"; {len(self.failed)} could not be done (see their rows)"
        return text + "."


def upload_name(path: str | os.PathLike) -> str:
    """The name a dropped file had (the page stores each upload under its own name in a folder of its own)."""
    name = Path(path).name
    return name if name not in ("", ".", "..") else "photo"


def _unique(stem: str, suffix: str, taken: set[str]) -> str:
    """``stem + suffix``, or ``stem_2 + suffix``, ... : a name no other result of the job has (nor its compare)."""
    for n in itertools.count(1):
        name = f"{stem}{suffix}" if n == 1 else f"{stem}_{n}{suffix}"
        compare = f"{Path(name).stem}{COMPARE_SUFFIX}{suffix}"
        if name not in taken and compare not in taken:
            taken.update((name, compare))
            return name
    raise AssertionError("unreachable")


def _new_job_folder(results_dir: Path) -> Path:
    """``job-<n>`` with ``n`` one more than any job's so far: numbers are never reused once older jobs are pruned,
    so a link to an old result never shows a newer one."""
    results_dir.mkdir(parents=True, exist_ok=True)
    numbers = [_job_number(p) for p in results_dir.glob("job-*") if p.name[4:].isdigit()]
    for n in itertools.count(max(numbers, default=0) + 1):
        folder = results_dir / f"job-{n}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


def write_zip(files: Sequence[Path], path: Path, folder: str) -> Path:
    """Put ``files`` (by their names) into the zip ``path``, inside the folder ``folder``, through a temporary file.

    The folder is there because results keep their photos' names: unpacked next to the originals, a zip without
    it would write over them. Photos are stored, not deflated: JPEG and PNG are compressed already.
    """
    tmp = path.with_name(f".{path.name}.part")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for f in files:
                archive.write(f, arcname=f"{folder}/{f.name}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def colorize_uploads(
    files: Sequence[str | os.PathLike] | None,
    models: Models,
    results_dir: Path,
    *,
    model: str | None = None,
    compare: bool = False,
    progress: Progress | None = None,
    max_files: int | None = None,
    temperature: float | None = None,
) -> Batch:
    """Colorize the dropped files one by one into a new job folder under ``results_dir``.

    A file that cannot be read (not an image, truncated, over ``--max-pixels``) gets a row with its error, named by
    the name it was dropped with; the others are still done.

    Args:
        files: paths of the uploaded files (their names are the names the user dropped).
        models: the checkpoints of the command line.
        results_dir: where job folders go (inside the app's temporary folder).
        model: a label of ``models`` (``None``: the first).
        compare: also write a side-by-side ``input | colorized`` of each photo.
        progress: called with (fraction done in [0, 1], what is being done).
        max_files: the most files one job takes (``None``: no limit).
        temperature: a classification model's vividness for this job (``None``: its own, :meth:`Models.temperature`).

    Raises:
        ValueError: no files, more than ``max_files``, a model that is not one of ``models``, or a temperature for a
            regression model (it predicts ab directly).
    """
    if not files:
        raise ValueError("drop one or more photos first")
    if max_files is not None and len(files) > max_files:
        raise ValueError(f"{len(files)} files at once is more than this page takes ({max_files}); drop fewer")
    label, _ = models.get(model)
    if temperature is not None and models.temperature(label) is None:  # refused before the job starts
        raise ValueError(f"{label}: {REGRESSION}")
    folder = start_job(results_dir, files)
    taken: set[str] = {ZIP_NAME, "before"}
    rows: list[PhotoResult] = []
    for i, upload in enumerate(files):
        path = Path(upload)
        name = upload_name(path)
        if progress is not None:
            progress(i / len(files), f"Colorizing {name} ({i + 1} of {len(files)})")
        result = models.colorize(label, path, temperature=temperature)
        row = PhotoResult(name, notes=[n.replace(str(path), name) for n in result.notes])
        rows.append(row)
        if result.image is None:
            row.error = (result.error or f"{name}: could not be colorized").replace(str(path), name)
            log.warning("%s", row.error)
            continue
        suffix = result_suffix(name, result.image)
        out_name = _unique(Path(name).stem or "photo", suffix, taken)
        row.output = folder / out_name
        row.size = result.image.size
        exif = source_exif(path)  # date taken, camera...: the result is still that photo
        try:
            save_image(result.image, row.output, exif=exif)
            row.before = save_before(result, folder, row.output.stem)
            if compare and result.input is not None:
                row.compare = folder / f"{row.output.stem}{COMPARE_SUFFIX}{suffix}"
                save_image(side_by_side([result.input, result.image]), row.compare, exif=exif)
        except OSError as err:
            row.output = row.before = row.compare = None
            row.error = f"{name}: could not write the result ({err.strerror or type(err).__name__})"
            log.error("%s: could not write the result: %s", name, err)  # the server's own log may name its paths
    made = [f for r in rows if r.error is None for f in (r.output, r.compare) if f is not None]
    archive = write_zip(made, folder / ZIP_NAME, f"colorized-{folder.name}") if made else None
    if progress is not None:
        progress(1.0, "Done")
    return Batch(label, rows, archive, folder)


def start_job(results_dir: Path, uploads: Sequence[str | os.PathLike]) -> Path:
    """A new job folder under ``results_dir``, with the record of when it started and which uploads it took (what
    :func:`prune_jobs` keeps uploads by)."""
    folder = _new_job_folder(results_dir)
    record = {"started": time.time(), "uploads": [str(Path(f).resolve()) for f in uploads]}
    (folder / JOB_RECORD).write_text(json.dumps(record))
    return folder


def result_suffix(name: str, image: Image.Image) -> str:
    """The suffix of the result of the photo dropped as ``name``: as colorgan-colorize picks it, PNG for
    transparency."""
    return ".png" if image.mode == "RGBA" else output_suffix(Path(name), None)


def save_before(result: ColorizedPhoto, folder: Path, stem: str) -> Path:
    """Write the slider's "before" half of ``result`` (:func:`_before_image`) as ``folder/before/<stem>.jpg`` (PNG
    with transparency) and return its path."""
    before = _before_image(result.input, result.image)
    path = folder / "before" / f"{stem}{'.png' if before.mode == 'RGBA' else '.jpg'}"
    save_image(before, path, quality=BEFORE_QUALITY)
    return path


def _job_number(folder: Path) -> int:
    return int(folder.name.removeprefix("job-"))


def _job_record(folder: Path) -> dict:
    try:
        return json.loads((folder / JOB_RECORD).read_text())
    except (OSError, ValueError):  # a job folder from before records, or a half-written one: nothing to protect
        return {"started": folder.stat().st_mtime, "uploads": []}


def prune_jobs(
    results_dir: Path, keep: int, uploads_dir: Path | None = None, max_bytes: int | None = None
) -> list[Path]:
    """Delete all but the newest ``keep`` job folders under ``results_dir``, and the uploads they took; fewer jobs
    when the kept jobs and uploads take more than ``max_bytes``.

    Uploads are Gradio's folders directly under ``uploads_dir`` (``<sha>/<name>``). One is deleted when no kept job
    took it and it was dropped before the oldest kept job started: an upload whose *Colorize* press may still be
    on its way (dropped after that) stays. ``max_bytes`` counts the kept job folders and the uploads that stay; the
    oldest kept jobs go until they fit, but the newest job is always kept (its results are on the page). Empty
    ``tmp*`` files under ``uploads_dir`` older than a minute are deleted too.

    Returns:
        The folders (and files) deleted.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1 (--keep-jobs), got {keep}")
    if max_bytes is not None and max_bytes < 0:
        raise ValueError(f"max_bytes must not be negative (--max-temp-gb), got {max_bytes}")
    deleted: list[Path] = _prune_empty_files(uploads_dir) if uploads_dir is not None else []
    if not results_dir.is_dir():
        return deleted
    jobs = sorted((p for p in results_dir.glob("job-*") if p.name[4:].isdigit()), key=_job_number)
    uploads = _upload_folders(uploads_dir) if uploads_dir is not None else []
    sizes: dict[Path, int] = {}

    def size(path: Path) -> int:
        if path not in sizes:
            sizes[path] = _bytes(path)
        return sizes[path]

    n = min(keep, len(jobs))
    while True:
        kept = jobs[len(jobs) - n :]
        staying = _uploads_kept(kept, uploads)
        if max_bytes is None or n <= 1 or sum(map(size, kept)) + sum(map(size, staying)) <= max_bytes:
            break
        n -= 1
    old = jobs[: len(jobs) - n]
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
        deleted.append(folder)
    if uploads_dir is None or not old:
        return deleted
    for folder in set(uploads) - set(staying):
        shutil.rmtree(folder, ignore_errors=True)
        deleted.append(folder)
    return deleted


def _upload_folders(uploads_dir: Path) -> list[Path]:
    if not uploads_dir.is_dir():
        return []
    return [f for f in uploads_dir.iterdir() if _UPLOAD_FOLDER.fullmatch(f.name) and f.is_dir()]


def _uploads_kept(kept: Sequence[Path], uploads: Sequence[Path]) -> list[Path]:
    """The upload folders that stay with the jobs ``kept``: taken by one of them, or dropped after the oldest
    started (a press of *Colorize* may be on its way); all of them while no job is kept."""
    if not kept:
        return list(uploads)
    records = [_job_record(folder) for folder in kept]
    cutoff = min(r["started"] for r in records)
    in_use = {Path(u).parent for r in records for u in r["uploads"]}
    staying = []
    for folder in uploads:
        try:
            dropped = folder.stat().st_mtime
        except OSError:
            continue
        if folder.resolve() in in_use or dropped >= cutoff:
            staying.append(folder)
    return staying


def _bytes(path: Path) -> int:
    """The bytes of the files under ``path`` (0 for what has gone meanwhile)."""
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _prune_empty_files(uploads_dir: Path) -> list[Path]:
    """Delete the empty ``tmp*`` files directly under ``uploads_dir`` older than :data:`EMPTY_FILE_AGE_S`."""
    if not uploads_dir.is_dir():
        return []
    deleted = []
    now = time.time()
    for path in uploads_dir.iterdir():
        if not _EMPTY_TEMP_FILE.fullmatch(path.name):
            continue
        try:
            info = path.lstat()
        except OSError:
            continue
        if path.is_file() and not path.is_symlink() and info.st_size == 0 and now - info.st_mtime > EMPTY_FILE_AGE_S:
            path.unlink(missing_ok=True)
            deleted.append(path)
    return deleted


def _before_image(decoded: Image.Image | None, result: Image.Image) -> Image.Image:
    """The slider's left half: the photo as the model read it (the result made gray where that is missing), with
    the result's transparency, so that it shows no pixel the photo hides."""
    before = decoded if decoded is not None else result.convert("L")
    if result.mode == "RGBA":
        before = before.convert("RGBA")
        before.putalpha(result.getchannel("A"))
    return before
