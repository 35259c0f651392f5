"""Check colorgan's whole CUDA path in one call, within a time budget: tests, benchmark, a killed and resumed run, DDP,
a big photo.

    bash scripts/gpu_check.sh                          # on a machine with a CUDA GPU and PyPI
    bash scripts/gpu_check.sh --offline gpu_wheels     # on an offline one (scripts/gpu_wheels.sh fetched the wheels)
    bash scripts/gpu_check.sh --cpu-smoke              # the same steps on the CPU with tiny sizes (the tests run it)

Before any step it imports everything the steps need and names what is missing. The whole check fits ``--budget``
seconds (default 480): each step gets a slice of what is left, in proportion to its weight, and is cut at the end of
its slice (the reason goes in the summary). Everything it keeps goes under one folder (``$OUT`` when set, else
``logs/gpu_check/<time>``), at most six files and no subfolder:

* ``summary.json`` and ``summary.txt``, written when the check starts (device, versions, every step pending) and
  again when each step starts and ends, so a check killed at any moment leaves the steps done so far;
* ``check.log``: every command's output, one section each;
* ``benchmark_eager.json`` and ``benchmark_compiled.json``: ``python -m colorgan.benchmark``'s results;
* ``colorized.jpg``: a photo colorized on the CPU by the resumed run's checkpoint.

Runs, checkpoints and photos go to a scratch folder (``--work``, default a new temporary folder), removed at the end.
Steps:

1. the ``gpu``-marked tests;
2. ``python -m colorgan.benchmark``, eager (the model alone, and end to end through the DataModule);
3. the same with ``--compile`` (the model alone);
4. a real run (the sports model, bf16-mixed, ``data.cache=true``; 256 px on the GPU) on the demo photos; SIGKILL
   once a checkpoint exists; resume with ``ckpt_path=last`` and check that the step counter, the optimizer state,
   the generator's moving average and the W&B run id go on; resume that checkpoint on the CPU for one batch;
   colorize a photo with it on the CPU;
5. with two or more GPUs, the same run under ``trainer=ddp`` for one epoch;
6. colorize a 24-megapixel photo on the GPU: time and peak GPU memory.

The summary sets the benchmark's figures against the targets of a 256 px Pix2Pix step on one H100/H200. A step that
fails or runs out of time is reported and the others still run; the exit status is 1 when any step failed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# The targets of a 256 px Pix2Pix training step (batch 16, bf16) on one H100/H200: (benchmark file, key in its JSON,
# what the figure must reach). The end-to-end target: training through the DataModule from the decoded-photo cache
# runs within 10 % of the model alone (batches already on the device), so the data path does not hold the GPU back.
TARGETS: dict[str, dict[str, Any]] = {
    "eager": {"file": "benchmark_eager.json", "key": "train_model_only_lightning.median", "unit": "img/s",
              "at_least": 2500.0},
    "compiled": {"file": "benchmark_compiled.json", "key": "train_model_only_lightning.median", "unit": "img/s",
                 "at_least": 3500.0},
    "end to end": {"file": "benchmark_eager.json", "key": "train_end_to_end_cache.median", "unit": "img/s",
                   "of": "train_model_only_lightning.median", "at_least_share": 0.90},
}
# also reported, with no target: Python's work per training step that the GPU waits for
FIGURES = {"host overhead (ms/step)": ("benchmark_eager.json", "host_overhead_ms_per_step"),
           "Lightning's own floor (ms/step)": ("benchmark_eager.json", "lightning_floor_ms_per_step")}

# What the steps import, and the distribution that brings each module (what to fetch when one is missing).
# scripts/gpu_wheels.sh fetches the ones an image with PyTorch lacks.
REQUIRED_MODULES = {
    "torch": "torch", "torchvision": "torchvision", "lightning": "lightning", "timm": "timm",
    "torchmetrics": "torchmetrics", "numpy": "numpy", "PIL": "pillow", "yaml": "pyyaml", "skimage": "scikit-image",
    "pytest": "pytest", "kornia": "kornia", "kornia_rs": "kornia_rs", "hydra": "hydra-core",
    "omegaconf": "omegaconf", "antlr4": "antlr4-python3-runtime", "wandb": "wandb", "pydantic": "pydantic",
    "pydantic_core": "pydantic_core", "platformdirs": "platformdirs",
}
# imported whole, so that what these modules import in turn is checked too
ENTRY_MODULES = ["colorgan.train", "colorgan.benchmark.run", "colorgan.colorize", "colorgan.inference.colorizer",
                 "wandb.sdk.wandb_init"]
VERSIONS = ["torch", "torchvision", "lightning", "kornia", "hydra-core", "omegaconf", "wandb", "timm",
            "torchmetrics", "numpy", "pillow"]

# name, share of the budget
STEPS: list[tuple[str, float]] = [
    ("gpu tests", 1.0),
    ("benchmark eager", 2.5),
    ("benchmark compiled", 3.0),
    ("killed and resumed run", 3.0),
    ("ddp", 1.5),
    ("big photo", 1.0),
]
TINY = ["data.image_size=64", "data.batch_size=4", "data.num_workers=0", "data.num_sample_images=2",
        "data.compile_lab=false", "model.generator.ngf=8", "model.discriminator.ndf=8", "trainer.accelerator=cpu",
        "trainer.devices=1", "trainer.enable_model_summary=false", "trainer.enable_progress_bar=false",
        "trainer.log_every_n_steps=1", "trainer.num_sanity_val_steps=0"]
PHOTOS = ROOT / "src" / "colorgan" / "assets" / "demo"
KEEP = ("summary.json", "summary.txt", "check.log", "benchmark_eager.json", "benchmark_compiled.json",
        "colorized.jpg")


class StepTimeout(Exception):
    """A step ran to the end of its slice of the budget."""


class Check:
    """The steps, their results, the folder they report into and the scratch folder they work in."""

    def __init__(self, out: Path, work: Path, smoke: bool, budget: float, device: str, versions: dict,
                 started: float) -> None:
        self.out, self.work, self.smoke, self.budget = out, work, smoke, budget
        self.device, self.versions = device, versions
        self.imports: dict[str, Any] = {"missing": None}  # None: not checked yet
        self.started = started
        self.deadline = self.started + budget
        self.step_deadline = self.deadline
        self.results: dict[str, dict[str, Any]] = {name: {"status": "pending"} for name, _ in STEPS}
        self.log = out / "check.log"
        self.child: subprocess.Popen | None = None
        self.env = {**os.environ, "WANDB_MODE": os.environ.get("WANDB_MODE", "offline"), "WANDB_SILENT": "true",
                    "WANDB_DISABLE_GIT": "true", "HYDRA_FULL_ERROR": "1", "PYTHONUNBUFFERED": "1",
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
        self.gpus = 0
        if not smoke:
            import torch

            self.gpus = torch.cuda.device_count()

    # --------------------------------------------------------------------------------------------- running
    def run(self, name: str, args: list[str], background: bool = False, env: dict | None = None) -> Any:
        """``python args`` with its output in check.log, cut at the end of the step's slice. With ``background``
        the process is returned at once (the caller waits for it with :meth:`wait`)."""
        with open(self.log, "a") as f:
            f.write(f"\n===== {name}: python {' '.join(args)}\n")
            f.flush()
            proc = subprocess.Popen([sys.executable, *args], stdout=f, stderr=subprocess.STDOUT,
                                    env={**self.env, **(env or {})}, cwd=ROOT, start_new_session=True)
        self.child = proc
        return proc if background else self.wait(proc, name)

    def wait(self, proc: subprocess.Popen, name: str) -> int:
        try:
            return proc.wait(max(0.0, self.step_deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill(proc)
            raise StepTimeout(f"{name} was still running at the end of the step's slice") from None

    def kill(self, proc: subprocess.Popen | None) -> None:
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def left(self) -> float:
        return self.step_deadline - time.monotonic()

    def step(self, name: str, fn: Callable[[], dict[str, Any] | None]) -> None:
        index = [n for n, _ in STEPS].index(name)
        now = time.monotonic()
        weights = [w for n, w in STEPS[index:] if not self._skipped(n)]
        share = (STEPS[index][1] / sum(weights)) if weights and not self._skipped(name) else 0.0
        slice_s = max(0.0, self.deadline - now) * share
        self.step_deadline = now + slice_s
        self.results[name] = {"status": "running", "slice_s": round(slice_s, 1)}
        self.write_summary()
        try:
            if slice_s < 1.0 and not self._skipped(name):
                raise StepTimeout("no time left in the budget")
            figures = fn() or {}
            status = figures.pop("status", "ok")
        except StepTimeout as err:
            figures, status = {"why": f"cut at {slice_s:.0f} s: {err}"}, "timeout"
        except Exception as err:  # a failed step is reported; the others still run
            figures, status = {"error": f"{type(err).__name__}: {err}"}, "failed"
        finally:
            self.kill(self.child)
            self.child = None
        self.results[name] = {"status": status, "seconds": round(time.monotonic() - now, 1),
                              "slice_s": round(slice_s, 1), **figures}
        print(f"[{status}] {name} ({self.results[name]['seconds']} s of {slice_s:.0f})", flush=True)
        self.write_summary()

    def _skipped(self, name: str) -> bool:
        return name == "ddp" and (self.smoke or self.gpus < 2)

    # ---------------------------------------------------------------------------------------------- summary
    def write_summary(self, final: bool = False) -> None:
        report = {"device": self.device, "smoke": self.smoke, "budget_s": self.budget,
                  "elapsed_s": round(time.monotonic() - self.started, 1), "finished": final,
                  "versions": self.versions, "imports": self.imports, "steps": self.results,
                  "targets": targets(self.out), "figures": figures(self.out), "work": str(self.work)}
        _write(self.out / "summary.json", json.dumps(report, indent=2) + "\n")
        _write(self.out / "summary.txt", summary_text(report, self.out))

    # ------------------------------------------------------------------------------------------------ steps
    def gpu_tests(self) -> dict[str, Any]:
        files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*.py")
                       if "mark.gpu" in p.read_text())
        # no third-party pytest plugins: the image's many (cov, xdist, benchmark, ...) cost start-up time
        code = self.run("gpu tests", ["-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider",
                                      "--basetemp", str(self.work / "pytest"), *files],
                        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
        tail = _last_line(self.log)
        if code not in (0, 5):
            raise RuntimeError(f"the gpu tests failed: {tail}")
        return {"pytest": tail, "files": files}

    def benchmark(self, mode: str) -> dict[str, Any]:
        args = ["-m", "colorgan.benchmark", "--work-dir", str(self.work / "benchmark")]
        if self.smoke:
            args += ["--device", "cpu", "--image-size", "32", "--batch-size", "2", "--ngf", "8", "--ndf", "8",
                     "--warmup", "1", "--windows", "1", "--steps", "2", "--overhead-windows", "1",
                     "--overhead-steps", "2", "--photos", "8", "--photo-size", "64x48", "--workers", "0",
                     "--loader-batch-size", "2", "--loader-steps", "2"]
        else:
            args += ["--device", "cuda", "--image-size", "256", "--batch-size", "16", "--windows", "3",
                     "--overhead-windows", "3"]
        # the compiled run measures the model alone: the end-to-end figure comes from the eager run
        args += ["--only", "model", "e2e"] if mode == "eager" else ["--only", "model", "--compile"]
        path = self.out / f"benchmark_{mode}.json"
        if self.run(f"benchmark {mode}", [*args, "--output", str(path)]) != 0:
            raise RuntimeError(f"the {mode} benchmark failed (see check.log)")
        data = json.loads(path.read_text())
        keys = ["train_model_only_lightning.median", "train_model_only_plain.median", "host_overhead_ms_per_step"]
        if mode == "eager":
            keys += ["train_end_to_end_files.median", "train_end_to_end_cache.median"]
        return {key: _get(data, key) for key in keys}

    def _train_args(self, root: Path, *extra: str) -> list[str]:
        # the sports model (the Pix2Pix U-Net, ngf = ndf = 64), bf16, decoded photos cached: tiny on the CPU
        every = "callbacks.interval_checkpoint.train_time_interval.minutes"
        size = [*TINY, f"{every}=0.01"] if self.smoke else ["data.image_size=256", "data.num_workers=4", f"{every}=0.1"]
        return ["-m", "colorgan.train", "+experiment=sports", f"data.root={PHOTOS}", "data.cache=true",
                "trainer.precision=bf16-mixed", *size, f"paths.root_dir={root}", "logger=wandb", *extra]

    def killed_and_resumed_run(self) -> dict[str, Any]:
        import torch

        root = self.work / "run"
        first = self.run("run, killed", self._train_args(root, "trainer.max_epochs=1000", "model.ema_decay=0.99"),
                         background=True)
        try:
            ckpt = _wait_for_checkpoint(root, first, self.left)
            time.sleep(1.0)
        finally:
            self.kill(first)
        saved = torch.load(ckpt, map_location="cpu", weights_only=True)
        run_id = (ckpt.parents[1] / "wandb_run_id.txt").read_text().strip()
        before = _counters(saved)
        epochs = int(saved["epoch"]) + 2
        resumed = self._train_args(root, f"trainer.max_epochs={epochs}", "ckpt_path=last", "model.ema_decay=0.99")
        if self.run("run, resumed", resumed) != 0:
            raise RuntimeError("the resumed run failed (see check.log)")
        newest = _newest_checkpoint(root)
        after = _counters(torch.load(newest, map_location="cpu", weights_only=True))
        same_id = (newest.parents[1] / "wandb_run_id.txt").read_text().strip() == run_id
        went_on = {k: after[k] > before[k] for k in before}
        if not (all(went_on.values()) and same_id):
            raise RuntimeError(f"the resumed run did not go on: {before} -> {after}, same W&B run: {same_id}")
        # that checkpoint on the CPU for one more batch (two optimizer steps), then colorize with it on the CPU
        # two epochs past the checkpoint's own: whichever checkpoint is newest (the end of the run, or an interval
        # one inside its last epoch) and however Lightning counts the epoch it restarts, at least one batch trains
        cpu_epochs = int(torch.load(newest, map_location="cpu", weights_only=True)["epoch"]) + 2
        on_cpu = self._train_args(root, "ckpt_path=" + str(newest), "trainer.accelerator=cpu",
                                  "trainer.precision=32-true", "data.cache=false", "data.num_workers=0",
                                  "logger=csv", "trainer.limit_train_batches=1", "trainer.limit_val_batches=1",
                                  f"trainer.max_epochs={max(epochs + 1, cpu_epochs)}")
        if self.run("run, resumed on the CPU", on_cpu) != 0:
            raise RuntimeError("resuming the checkpoint on the CPU failed (see check.log)")
        cpu_step = int(torch.load(_newest_checkpoint(root), map_location="cpu", weights_only=True)["global_step"])
        if cpu_step <= after["global_step"]:
            raise RuntimeError(f"the run resumed on the CPU did not train (global_step {cpu_step}): see check.log")
        photo = ROOT / "src" / "colorgan" / "assets" / "photos" / "camera_bw.jpg"
        colorized = self.work / "colorized"
        code = self.run("colorize on the CPU", ["-m", "colorgan.colorize", str(photo), "--ckpt", str(newest),
                                                "--output", str(colorized), "--device", "cpu"])
        if code != 0 or not (colorized / photo.name).is_file():
            raise RuntimeError("colorizing on the CPU with the resumed checkpoint failed (see check.log)")
        shutil.copyfile(colorized / photo.name, self.out / "colorized.jpg")
        return {"killed_at": before, "resumed_to": after, "same_wandb_run": same_id, "cpu_resume_step": cpu_step}

    def ddp(self) -> dict[str, Any]:
        if self._skipped("ddp"):
            why = "the CPU smoke run (tests/training/test_ddp.py runs DDP on CPU processes)" if self.smoke else \
                f"{self.gpus} GPU(s)"
            return {"status": "skipped", "why": why}
        code = self.run("ddp", self._train_args(self.work / "ddp", "trainer=ddp", f"trainer.devices={self.gpus}",
                                                "trainer.max_epochs=1"))
        if code != 0:
            raise RuntimeError("the DDP run failed (see check.log)")
        return {"gpus": self.gpus}

    def big_photo(self) -> dict[str, Any]:
        ckpts = list((self.work / "run").glob("logs/*/runs/*/checkpoints/last.ckpt"))
        if not ckpts:  # the run step says why
            return {"status": "skipped", "why": "no checkpoint to colorize with: the run step did not make one"}
        width, height = (1200, 800) if self.smoke else (6000, 4000)
        result = self.work / "big_photo.json"
        args = [str(Path(__file__).resolve()), "--big-photo", str(_newest_checkpoint(self.work / "run")),
                f"{width}x{height}", "cpu" if self.smoke else "cuda", str(result)]
        if self.run("big photo", args) != 0:
            raise RuntimeError("colorizing the big photo failed (see check.log)")
        return json.loads(result.read_text())


def big_photo(ckpt: str, size: str, device: str, result: str) -> None:
    """Colorize a generated ``size`` photo with ``ckpt`` on ``device``; write the time and peak memory as JSON."""
    import numpy as np
    import torch
    from PIL import Image

    from colorgan.inference.colorizer import Colorizer

    width, height = (int(v) for v in size.split("x"))
    rng = np.random.default_rng(0)
    gray = (rng.random((height // 8, width // 8)) * 255).astype(np.uint8)
    path = Path(result).with_suffix(".jpg")
    Image.fromarray(gray).resize((width, height), Image.Resampling.BILINEAR).save(path, quality=90)
    colorizer = Colorizer.from_checkpoint(ckpt, device=device)
    cuda = device == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    start = time.perf_counter()
    colour = colorizer(str(path))
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if colour.size != (width, height):
        raise SystemExit(f"the colorized photo is {colour.size}, not {(width, height)}")
    Path(result).write_text(json.dumps({
        "megapixels": round(width * height / 1e6, 1), "colorize_seconds": round(seconds, 2),
        "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20) if cuda else None}))


# ---------------------------------------------------------------------------------------------------- helpers
def _write(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so that a kill never leaves half a summary."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _last_line(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


def _get(data: Any, key: str) -> Any:
    """``data["a"]["b"]`` for ``key`` "a.b"; None where it is missing."""
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def targets(out: Path) -> dict[str, dict[str, Any]]:
    """Each target with the figure read from the benchmark's JSON and its verdict: met, missed, or not measured."""
    results = {}
    for name, t in TARGETS.items():
        path = out / t["file"]
        data = json.loads(path.read_text()) if path.is_file() else None
        figure = _number(_get(data, t["key"]))
        entry: dict[str, Any] = {"file": t["file"], "key": t["key"], "figure": figure, "unit": t["unit"]}
        if "of" in t:
            base = _number(_get(data, t["of"]))
            share = figure / base if figure is not None and base else None
            entry.update({"share": share, "of": t["of"], "at_least_share": t["at_least_share"]})
            met = None if share is None else share >= t["at_least_share"]
        else:
            entry["at_least"] = t["at_least"]
            met = None if figure is None else figure >= t["at_least"]
        entry["verdict"] = "not measured" if met is None else ("met" if met else "missed")
        results[name] = entry
    return results


def figures(out: Path) -> dict[str, float | None]:
    found = {}
    for name, (file, key) in FIGURES.items():
        path = out / file
        found[name] = _number(_get(json.loads(path.read_text()), key)) if path.is_file() else None
    return found


def summary_text(report: dict[str, Any], out: Path) -> str:
    state = "finished" if report["finished"] else f"in progress ({report['elapsed_s']:.0f} s so far)"
    kind = "CPU smoke run, tiny sizes" if report["smoke"] else "full"
    lines = [f"colorgan GPU check on {report['device']} ({kind}): {state}, budget {report['budget_s']:.0f} s",
             "versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
             _imports_line(report.get("imports", {}).get("missing")), f"output: {out}", ""]
    for name, result in report["steps"].items():
        extra = result.get("error") or result.get("why") or ""
        seconds = f"{result['seconds']:7.1f} s" if "seconds" in result else " " * 9
        lines.append(f"  {result['status']:>7}  {name:<24} {seconds}  {extra}"[:240])
    lines += ["", "targets (256 px Pix2Pix step, batch 16, bf16, one H100/H200"
              + ("; tiny CPU sizes here, so they are missed" if report["smoke"] else "") + "):"]
    for name, t in report["targets"].items():
        fig = "not measured" if t["figure"] is None else f"{t['figure']:.1f} {t['unit']}"
        if "at_least_share" in t:
            share = "" if t["share"] is None else f" = {100 * t['share']:.0f} % of the model alone"
            want = f">= {100 * t['at_least_share']:.0f} % of the model alone"
            lines.append(f"  {name:<11} {fig}{share}, target {want}: {t['verdict']}")
        else:
            lines.append(f"  {name:<11} {fig}, target >= {t['at_least']:g} {t['unit']}: {t['verdict']}")
    for name, value in report["figures"].items():
        lines.append(f"  {name}: {'not measured' if value is None else f'{value:.2f}'}")
    return "\n".join(lines) + "\n"


def _imports_line(missing: list[str] | None) -> str:
    if missing is None:
        return "imports: being checked"
    return f"imports: MISSING {', '.join(missing)}" if missing else \
        f"imports: every module the steps need was found ({len(REQUIRED_MODULES) + len(ENTRY_MODULES)} checked)"


def _counters(ckpt: dict[str, Any]) -> dict[str, int]:
    """What must go on when a run resumes: the step counter, the optimizers' own step counts, the moving average."""
    state = ckpt.get("optimizer_states") or []
    optimizer_steps = sum(int(s["state"][0]["step"]) for s in state if s.get("state") and 0 in s["state"])
    averaged = ckpt.get("state_dict", {}).get("generator_ema.n_averaged")
    return {"global_step": int(ckpt["global_step"]), "optimizer_steps": optimizer_steps,
            "ema_updates": int(averaged) if averaged is not None else 0}


def _newest_checkpoint(root: Path) -> Path:
    return max(root.glob("logs/*/runs/*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)


def _wait_for_checkpoint(root: Path, proc: subprocess.Popen, left: Callable[[], float]) -> Path:
    """The first last.ckpt of a run that has trained at least one batch."""
    import torch

    while left() > 0:
        for path in root.glob("logs/*/runs/*/checkpoints/last.ckpt"):
            try:
                if int(torch.load(path, map_location="cpu", weights_only=True)["global_step"]) > 0:
                    return path
            except Exception:  # being written: look again
                pass
        if proc.poll() is not None:
            raise RuntimeError(f"the run ended (status {proc.returncode}) before writing a checkpoint: see check.log")
        time.sleep(0.5)
    raise StepTimeout("the first run wrote no checkpoint in time")


def missing_imports() -> list[str]:
    """``module (pip name)`` for each module the steps need that does not import here, and for each entry module
    whose own imports fail (with the module it could not find)."""
    missing = []
    for module, dist in REQUIRED_MODULES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(f"{module} (pip: {dist})")
    if missing:  # the entry modules would fail on the same ones
        return missing
    for module in ENTRY_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as err:
            name = getattr(err, "name", None) or str(err)
            missing.append(f"{name} (imported by {module}: {err})")
        except Exception as err:  # e.g. a wheel built for a newer protobuf than the machine's
            missing.append(f"{module} fails to import: {type(err).__name__}: {err}")
    return missing


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for dist in VERSIONS:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "missing"
    import torch

    found["cuda"] = str(torch.version.cuda)
    if torch.cuda.is_available():
        found["cudnn"] = str(torch.backends.cudnn.version())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-smoke", action="store_true", help="run every step on the CPU with tiny sizes")
    parser.add_argument("--budget", type=float, default=480.0,
                        help="seconds for the whole check (default 480); each step gets its slice")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: $OUT, else logs/gpu_check/)")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch folder for runs and photos (default: a new temporary folder, removed after)")
    parser.add_argument("--big-photo", nargs=4, metavar=("CKPT", "WxH", "DEVICE", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.big_photo:
        big_photo(*args.big_photo)
        return
    out = args.out or (Path(os.environ["OUT"]) if os.environ.get("OUT") else
                       ROOT / "logs" / "gpu_check" / time.strftime("%Y-%m-%d_%H-%M-%S"))
    out.mkdir(parents=True, exist_ok=True)
    for name in KEEP:  # results of an earlier check in the same folder would be read as this one's
        (out / name).unlink(missing_ok=True)
    # the budget counts from the start of gpu_check.sh (installing the wheels included) when it started us
    used = max(0.0, time.time() - float(os.environ.get("COLORGAN_CHECK_START") or time.time()))
    started = time.monotonic() - used
    try:
        import torch
    except ImportError as err:
        raise SystemExit(f"PyTorch does not import here ({err}): the check runs on a Python that holds it") from None
    if not args.cpu_smoke and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here: run `bash scripts/gpu_check.sh --cpu-smoke` to check the script itself")
    device = f"CPU ({_cpu_name()})" if args.cpu_smoke else torch.cuda.get_device_name(0)
    own_work = args.work is None
    work = Path(tempfile.mkdtemp(prefix="colorgan_gpu_check_")) if own_work else args.work
    work.mkdir(parents=True, exist_ok=True)
    check = Check(out, work, args.cpu_smoke, args.budget, device, versions(), started)
    check.write_summary()  # the first summary: device, versions, every step pending

    missing = missing_imports()
    check.imports = {"missing": missing, "seconds": round(time.monotonic() - started - used, 1)}
    check.write_summary()
    if missing:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
        raise SystemExit("these modules do not import here, so the check would fail; no step ran:\n  "
                         + "\n  ".join(missing) + "\nOn an offline machine: fetch the wheels where pip works "
                         "(bash scripts/gpu_wheels.sh), copy them next to the checkout and run "
                         "`bash scripts/gpu_check.sh --offline gpu_wheels`.")

    def stop(signum: int, frame: Any) -> None:  # killed from outside: stop the step's processes, keep the summary
        check.kill(check.child)
        for name, result in check.results.items():
            if result["status"] == "running":
                check.results[name] = {**result, "status": "killed", "why": f"signal {signum} during the step"}
        check.write_summary()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        check.step("gpu tests", check.gpu_tests)
        check.step("benchmark eager", lambda: check.benchmark("eager"))
        check.step("benchmark compiled", lambda: check.benchmark("compiled"))
        check.step("killed and resumed run", check.killed_and_resumed_run)
        check.step("ddp", check.ddp)
        check.step("big photo", check.big_photo)
        check.write_summary(final=True)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    print((out / "summary.txt").read_text(), end="")
    sys.exit(1 if any(r["status"] in ("failed", "timeout") for r in check.results.values()) else 0)


if __name__ == "__main__":
    main()
