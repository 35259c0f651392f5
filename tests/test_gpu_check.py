"""scripts/gpu_check.sh and scripts/gpu_wheels.sh: the one-call check of the CUDA path, rehearsed on the CPU the way
it runs on an offline GPU machine (its own python3 with PyTorch, the missing packages as wheels), so it cannot rot."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WHEEL_CACHE = ROOT / "cache" / f"gpu_wheels_py{sys.version_info.major}.{sys.version_info.minor}"
STEPS = ["gpu tests", "benchmark eager", "benchmark compiled", "killed and resumed run", "ddp", "big photo"]

# What the offline GPU machines' image holds (its python3's packages, as listed for it), with what the newer versions
# of these packages installed here need beside them (the image's huggingface-hub uses httpx; this one httpx2).
IMAGE = """absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build
certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core
cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock
flatbuffers flax fonttools
formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna
imageio iniconfig interface-meta jax jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning
lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson
ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja numba
numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft
nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13
nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax
opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy
portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing
pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist
python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image
scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers
statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm
tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope
triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl
zipp
httpx2 httpcore2 truststore""".split()


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _load_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "scripts" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image_like_python(folder: Path) -> Path:
    """A Python that holds only what the GPU machines' image holds: a venv without pip of this interpreter, whose
    site-packages gets one .pth file naming a folder of links to those packages as installed here (and no others:
    not kornia, hydra, omegaconf, wandb, pydantic, ...). Seconds, where installing PyTorch again takes minutes."""
    packages = folder / "image_site"
    packages.mkdir(parents=True)
    wanted, linked = {_norm(n) for n in IMAGE}, set()
    for dist in metadata.distributions():
        name = _norm(dist.metadata["Name"])
        if name not in wanted or name in linked:
            continue
        linked.add(name)
        for top in {Path(str(f)).parts[0] for f in dist.files or []}:
            source = Path(dist.locate_file(top))
            if top.endswith(".pth") or top.startswith("..") or top == "__pycache__" or not source.exists():
                continue
            if not (packages / top).exists():
                (packages / top).symlink_to(source)
    assert {"torch", "lightning", "timm", "pip"} <= linked
    venv = folder / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = (venv / "lib").glob("python3*/site-packages")
    (site / "image.pth").write_text(f"{packages}\n")
    return venv / "bin" / "python3"


@pytest.fixture(scope="module")
def wheels() -> Path:
    """scripts/gpu_wheels.sh's wheels for this Python (the GPU machine's are for 3.12; this machine's PyTorch is for
    its own Python), fetched once into the repository's ignored cache/."""
    version = "{}.{}".format(*sys.version_info[:2])
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_wheels.sh"), str(WHEEL_CACHE)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHON_VERSION": version,
                                                       "PIP": f"{sys.executable} -m pip"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = re.search(r"wheels, ([\d.]+) MB in all", proc.stdout)
    assert total and float(total.group(1)) < 50, proc.stdout
    return WHEEL_CACHE


@pytest.mark.slow
def test_the_offline_rehearsal_runs_every_step_within_its_budget(tmp_path: Path, wheels: Path) -> None:
    """An image-like Python without kornia, hydra or wandb, the wheels installed the offline way, then the whole
    CPU smoke run: every step, the compiled benchmark included; six flat files under $OUT; figures that are numbers."""
    python = image_like_python(tmp_path / "image")
    missing = subprocess.run([str(python), "-c", "import kornia"], capture_output=True, text=True)
    assert missing.returncode != 0 and "No module named 'kornia'" in missing.stderr  # the rehearsal is honest
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "PYTHON": str(python), "PYTHONPATH": ""}
    start = time.monotonic()
    # about 3 minutes on 2 idle cores; the budget leaves room for a machine that others load too
    command = ["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--offline", str(wheels), "--cpu-smoke", "--budget",
               "900"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=1200, env=env, cwd=tmp_path)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert f"installing {len(list(wheels.glob('*.whl')))} wheels" in proc.stdout
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert files == sorted(["summary.json", "summary.txt", "check.log", "benchmark_eager.json",
                            "benchmark_compiled.json", "colorized.jpg"]), files
    report = json.loads((out / "summary.json").read_text())
    steps = report["steps"]
    assert report["smoke"] is True and report["finished"] is True and list(steps) == STEPS
    assert {name: s["status"] for name, s in steps.items()} == {
        **{name: "ok" for name in STEPS}, "ddp": "skipped"}, steps
    assert report["elapsed_s"] <= report["budget_s"] and seconds < 900
    assert report["versions"]["kornia"] == "0.9.0" and report["versions"]["wandb"] != "missing"
    # the compiled benchmark really compiled, and the figures the targets read are numbers from its JSON
    compiled = json.loads((out / "benchmark_compiled.json").read_text())
    assert compiled["settings"]["compile"] is True
    for name in ("eager", "compiled", "end to end"):
        target = report["targets"][name]
        assert isinstance(target["figure"], float) and target["figure"] > 0, target
    for name in ("eager", "compiled"):
        assert report["targets"][name]["verdict"] == "missed"  # a CPU at 32 px is far from a GPU's img/s
    # the end-to-end target is a share of the model's own speed, which a CPU can meet: the verdict follows the share
    end_to_end = report["targets"]["end to end"]
    assert end_to_end["verdict"] == ("met" if end_to_end["share"] >= end_to_end["at_least_share"] else "missed")
    assert report["targets"]["compiled"]["figure"] == compiled["train_model_only_lightning"]["median"]
    assert steps["benchmark compiled"]["train_model_only_lightning.median"] == report["targets"]["compiled"]["figure"]
    assert isinstance(report["figures"]["host overhead (ms/step)"], float)
    # the sports model, bf16, cached photos: killed, resumed, resumed on the CPU
    run = steps["killed and resumed run"]
    for counter in ("global_step", "optimizer_steps", "ema_updates"):
        assert run["resumed_to"][counter] > run["killed_at"][counter] > 0, counter
    assert run["same_wandb_run"] is True and run["cpu_resume_step"] > run["resumed_to"]["global_step"]
    log = (out / "check.log").read_text()
    assert "+experiment=sports" in log and "trainer.precision=bf16-mixed" in log and "data.cache=true" in log
    assert steps["big photo"]["megapixels"] == 1.0
    text = (out / "summary.txt").read_text()
    assert "colorgan GPU check on CPU" in text and "finished" in text and text in proc.stdout
    assert re.search(r"compiled +[\d.]+ img/s, target >= 3500 img/s: missed", text), text


def test_a_missing_package_is_named_before_any_step(tmp_path: Path) -> None:
    """Without the wheels, the image-like Python stops at once and names what to fetch; no step runs."""
    python = image_like_python(tmp_path / "image")
    out = tmp_path / "out"
    proc = subprocess.run([str(python), str(ROOT / "scripts" / "gpu_check.py"), "--cpu-smoke"], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OUT": str(out), "PYTHONPATH": str(ROOT / "src")},
                          cwd=tmp_path)
    assert proc.returncode != 0
    for named in ("kornia (pip: kornia)", "hydra (pip: hydra-core)", "omegaconf (pip: omegaconf)",
                  "wandb (pip: wandb)", "pydantic (pip: pydantic)", "bash scripts/gpu_wheels.sh"):
        assert named in proc.stderr, proc.stderr
    assert "torch (pip" not in proc.stderr and "lightning (pip" not in proc.stderr
    report = json.loads((out / "summary.json").read_text())
    assert report["imports"]["missing"] and all(s["status"] == "pending" for s in report["steps"].values())


def test_the_offline_check_without_wheels_says_how_to_fetch_them(tmp_path: Path) -> None:
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--offline", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "bash scripts/gpu_wheels.sh" in proc.stderr


@pytest.mark.slow
def test_a_check_killed_after_20_seconds_leaves_the_steps_done(tmp_path: Path) -> None:
    """SIGKILL to the whole check (as a machine's time limit does) once 20 s have passed and a step is done: the
    summary still parses and holds that step's result, the step in flight as running, the rest pending."""
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--cpu-smoke",
                             "--work", str(tmp_path / "work")], env={**os.environ, "OUT": str(out)}, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    start = time.monotonic()
    try:
        done: list[str] = []
        while time.monotonic() - start < 180 and (time.monotonic() - start < 20 or not done):
            time.sleep(1.0)
            if (out / "summary.json").is_file():
                steps = json.loads((out / "summary.json").read_text())["steps"]
                done = [n for n, s in steps.items() if s["status"] not in ("pending", "running")]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    report = json.loads((out / "summary.json").read_text())
    steps = report["steps"]
    assert list(steps) == STEPS and report["finished"] is False and report["device"].startswith("CPU")
    assert report["versions"]["torch"] and report["imports"]["missing"] == []
    finished = [n for n, s in steps.items() if s["status"] not in ("pending", "running")]
    assert finished and finished == STEPS[: len(finished)], steps
    assert steps["gpu tests"]["status"] == "ok" and steps["gpu tests"]["seconds"] > 0
    later = [steps[n]["status"] for n in STEPS[len(finished):]]
    assert later and set(later) <= {"running", "pending"} and later.count("running") <= 1
    assert "colorgan GPU check on CPU" in (out / "summary.txt").read_text()


@pytest.mark.slow
def test_the_budget_cuts_each_step_at_the_end_of_its_slice(tmp_path: Path) -> None:
    """20 s cannot hold the smoke run (minutes of CPU time): the check still ends on time, each step either done or
    cut at the end of its slice with the reason, and exits 1. (Any budget well short of the run proves this; a
    small one keeps the test short.)"""
    budget = 20
    out = tmp_path / "out"
    start = time.monotonic()
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--cpu-smoke", "--budget",
                           str(budget), "--work", str(tmp_path / "work")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OUT": str(out)}, cwd=tmp_path)
    seconds = time.monotonic() - start
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert seconds < budget + 30  # the budget, and the start-up and clean-up around it
    report = json.loads((out / "summary.json").read_text())
    steps = report["steps"]
    assert report["finished"] is True and report["budget_s"] == budget
    assert {s["status"] for s in steps.values()} <= {"ok", "timeout", "skipped"}
    cut = [s for s in steps.values() if s["status"] == "timeout"]
    assert cut and all(s["why"].startswith("cut at ") for s in cut), steps
    assert sum(s.get("seconds", 0) for s in steps.values()) <= budget + 5
    assert "timeout" in (out / "summary.txt").read_text()


@pytest.fixture
def benchmark_json(cpu_benchmark: dict) -> dict:
    """A real benchmark result made on the CPU, tiny sizes: conftest's run of the whole benchmark (made once for
    tests/benchmark's test too), of which the targets read the model alone and end to end."""
    return cpu_benchmark["saved"]


@pytest.mark.slow
def test_the_targets_read_the_benchmarks_figures(tmp_path: Path, benchmark_json: dict,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    check = _load_check()
    (tmp_path / "benchmark_eager.json").write_text(json.dumps(benchmark_json))
    eager = benchmark_json["train_model_only_lightning"]["median"]
    e2e = benchmark_json["train_end_to_end_cache"]["median"]
    found = check.targets(tmp_path)
    assert found["eager"]["figure"] == eager and isinstance(eager, float) and eager > 0
    assert found["end to end"]["figure"] == e2e and found["end to end"]["share"] == pytest.approx(e2e / eager)
    assert found["eager"]["verdict"] == "missed"  # a CPU at 64 px is no H100
    assert found["compiled"] == {**found["compiled"], "figure": None, "verdict": "not measured"}
    # the verdicts follow the figures: a target just under the figure is met, just over it missed
    targets = {name: dict(t) for name, t in check.TARGETS.items()}
    monkeypatch.setattr(check, "TARGETS", targets)
    targets["eager"]["at_least"] = eager * 0.99
    targets["end to end"]["at_least_share"] = e2e / eager * 1.01
    found = check.targets(tmp_path)
    assert found["eager"]["verdict"] == "met" and found["end to end"]["verdict"] == "missed"
    targets["eager"]["at_least"] = eager * 1.01
    targets["end to end"]["at_least_share"] = e2e / eager * 0.99
    found = check.targets(tmp_path)
    assert found["eager"]["verdict"] == "missed" and found["end to end"]["verdict"] == "met"
    host = check.figures(tmp_path)["host overhead (ms/step)"]
    assert host == benchmark_json["host_overhead_ms_per_step"] and host > 0
    report = {"device": "CPU", "smoke": True, "finished": True, "elapsed_s": 1.0, "budget_s": 480, "versions": {},
              "steps": {}, "targets": found, "figures": check.figures(tmp_path)}
    text = check.summary_text(report, tmp_path)
    assert f"eager       {eager:.1f} img/s, target >= {eager * 1.01:g} img/s: missed" in text, text


def test_without_a_gpu_the_full_check_says_how_to_run_the_smoke_mode(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py")], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "OUT": str(tmp_path)}, cwd=tmp_path)
    assert proc.returncode != 0 and "--cpu-smoke" in proc.stderr
