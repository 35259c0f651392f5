"""``python -m colorgan.benchmark``: how fast colorgan trains and loads data on this machine, as a table and JSON.

Measures, in one run and on the same photos:

* training images/s of the model alone (batches already on the device), under Lightning and as a plain PyTorch
  loop of the same model, and their ratio; achieved TFLOP/s (FLOPs counted by torch.utils.flop_counter) and the
  share of the device's peak; peak memory;
* the host overhead per training step: colorgan's step against the plain loop with a tiny model (64 px, ngf = ndf
  = 8), and Lightning's own floor (see :mod:`colorgan.benchmark.overhead`);
* the data path alone: colorgan's loader from JPEG files and from its decoded-photo cache, against the classic
  per-sample CPU pipeline (PIL, resize, float64 scikit-image rgb2lab) with the same number of workers;
* training images/s end to end through the DataModule (from files and from the cache).

Warm-up steps are excluded; every figure is the median of several timed windows.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import resource
import statistics
import sys
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import torch

from colorgan.benchmark.data_path import classic_loader, colorgan_loader, lab_conversion_ms, make_photos
from colorgan.benchmark.models import (
    ENCODER_GENERATORS,
    PlainLoop,
    RepeatedBatch,
    generator_config,
    lightning_fit,
    make_model,
    synthetic_batch,
    training_flops_per_image,
)
from colorgan.benchmark.overhead import host_overhead
from colorgan.benchmark.report import device_peak_tflops, machine_info, markdown_table
from colorgan.benchmark.timing import Throughput, time_iterations
from colorgan.config.resolvers import auto_precision
from colorgan.data import ColorizationDataModule, find_images
from colorgan.data.host_memory import keep_freed_memory

SECTIONS = ("colorize", "model", "data", "e2e", "stream")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m colorgan.benchmark", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--precision", default="auto", help="32-true | bf16-mixed | 16-mixed (auto: bf16 on a GPU)")
    p.add_argument("--batch-size", type=int, default=None, help="default: 16 on a GPU, 4 on a CPU")
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--generator", default="unet", choices=["unet", "resnet_unet", "encoder_unet"],
                   help="the generator (default unet)")
    p.add_argument("--encoder", default="resnet34",
                   help="the encoder of --generator resnet_unet (resnet18 | resnet34 | resnet50) or encoder_unet "
                   "(a timm model name, e.g. tf_efficientnet_lite0); random weights")
    p.add_argument("--ngf", type=int, default=64)
    p.add_argument("--ndf", type=int, default=64)
    p.add_argument("--compile", action="store_true", help="torch.compile G and D")
    p.add_argument("--channels-last", default="auto", choices=["auto", "on", "off"], help="auto: on for CUDA")
    p.add_argument("--compile-lab", default="on", choices=["on", "off"],
                   help="uint8 -> LAB conversion as one compiled kernel (data.compile_lab)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 10 GPU, 1 CPU)")
    p.add_argument("--windows", type=int, default=3, help="timed windows; the median is reported")
    p.add_argument("--steps", type=int, default=None, help="steps per timed window (default: 20 GPU, 2 CPU)")
    p.add_argument("--overhead-windows", type=int, default=10,
                   help="window pairs (colorgan's step, then the plain loop's) of the host-overhead measurement")
    p.add_argument("--overhead-steps", type=int, default=20, help="steps per window of the host-overhead measurement")
    p.add_argument("--data", type=Path, default=None, help="a folder of photos (default: generated JPEGs)")
    p.add_argument("--photos", type=int, default=256, help="how many JPEGs to generate without --data")
    p.add_argument("--photo-size", default="640x480", help="WxH of the generated JPEGs")
    p.add_argument("--workers", type=int, default=None, help="data workers for every loader (default: CPUs)")
    p.add_argument("--loader-batch-size", type=int, default=16, help="batch size of the data-path benchmark")
    p.add_argument("--loader-steps", type=int, default=16, help="batches per timed window of the data path")
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="sections to run")
    p.add_argument("--work-dir", type=Path, default=Path(".bench"), help="generated photos and caches go here")
    p.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    return p.parse_args(argv)


def _peak_memory_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


def _reset_peak(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def bench_colorize(a: argparse.Namespace, device: torch.device, out: dict[str, Any]) -> None:
    """Seconds to colorize a 12-megapixel photo (4000 x 3000, gray and colour JPEGs), model load excluded."""
    from colorgan.inference.colorizer import Colorizer
    from colorgan.nn import build_generator

    folder = a.work_dir / "colorize"
    (photo,) = make_photos(folder, 1, 4000, 3000, seed=7)
    gray = folder / "bench_gray_12mp.jpg"
    if not gray.exists():
        from PIL import Image

        Image.open(photo).convert("L").save(gray, quality=90)
    _reset_peak(device)
    generator = build_generator(generator_config(a.generator, a.image_size, a.ngf, a.encoder))
    colorizer = Colorizer(generator, a.image_size, device=device)
    for name, path in (("gray", gray), ("colour", photo)):
        t = time_iterations(lambda p=path: colorizer(p).width and 1, device, 1, a.windows, 1)
        out[f"colorize_12mp_{name}_s"] = 1.0 / t.median
    out["peak_memory_gb_colorize"] = _peak_memory_gb(device)


def bench_model(a: argparse.Namespace, device: torch.device, out: dict[str, Any]) -> None:
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    batch = synthetic_batch(a.batch_size, a.image_size, device, a.channels_last)
    steps_total = a.warmup + a.windows * a.steps

    def model() -> Any:
        return make_model(a.image_size, a.ngf, a.ndf, a.compile, a.channels_last, a.generator, a.encoder)

    _reset_peak(device)
    lit = lightning_fit(model(), RepeatedBatch(batch, steps_total), accelerator=accelerator, precision=a.precision,
                        batch_size=a.batch_size, warmup=a.warmup, windows=a.windows, steps_per_window=a.steps)
    out["train_model_only_lightning"] = lit.as_dict()
    out["peak_memory_gb_train"] = _peak_memory_gb(device)

    loop = PlainLoop(model(), device, a.precision)
    plain = time_iterations(partial(loop.step, batch), device, a.warmup, a.windows, a.steps)
    out["train_model_only_plain"] = plain.as_dict()
    out["lightning_cost_pct"] = 100.0 * (plain.median / lit.median - 1.0)
    del loop

    flops = training_flops_per_image(make_model(a.image_size, a.ngf, a.ndf, False, False, a.generator, a.encoder),
                                     synthetic_batch(2, a.image_size, device, False), device)
    out["train_gflop_per_image"] = flops / 1e9
    out["achieved_tflops"] = flops * lit.median / 1e12
    peak = device_peak_tflops(device, a.precision)
    out["device_peak_tflops"] = peak
    out["share_of_peak_pct"] = None if peak is None else 100.0 * out["achieved_tflops"] / peak

    # host work per step, with a model so small that the arithmetic hardly counts (whatever --image-size/--ngf say)
    overhead = host_overhead(device, a.precision, a.batch_size, max(a.warmup, 3), a.overhead_windows,
                             a.overhead_steps)
    out["host_overhead"] = overhead
    out["host_overhead_ms_per_step"] = overhead["host_overhead_ms"]["median_ms"]
    out["lightning_floor_ms_per_step"] = overhead["lightning_floor_ms"]["median_ms"]


def _datamodule(a: argparse.Namespace, root: Path, cache: bool, batch_size: int) -> ColorizationDataModule:
    dm = ColorizationDataModule(root=str(root), image_size=a.image_size, batch_size=batch_size,
                                num_workers=a.workers, val_fraction=0.05, test_fraction=0.0, cache=cache,
                                cache_dir=str(a.work_dir / "cache"), channels_last=a.channels_last,
                                compile_lab=a.compile_lab == "on")
    dm.prepare_data()
    dm.setup("fit")
    return dm


def bench_data(a: argparse.Namespace, device: torch.device, root: Path, out: dict[str, Any]) -> None:
    files = find_images(root)
    bs = a.loader_batch_size
    # warm-up drains what the workers prefetched (up to 4 batches each) so windows see the steady state
    warm = 4 * max(1, a.workers) + 2
    steps = a.loader_steps
    cached = _datamodule(a, root, True, bs)
    runs: dict[str, Throughput] = {
        "classic_per_sample": classic_loader(files, a.image_size, bs, a.workers, device, warm, a.windows, steps),
        "colorgan_from_files": colorgan_loader(_datamodule(a, root, False, bs), device, warm, a.windows, steps),
        "colorgan_from_cache": colorgan_loader(cached, device, warm, a.windows, steps),
    }
    assert cached.train_set is not None
    lab = lab_conversion_ms(cached.train_set.images[:bs].cpu(), device, a.windows, a.compile_lab == "on")
    out.update({f"lab_ms_{name}": ms for name, ms in lab.items()})
    for name, t in runs.items():
        out[f"loader_{name}"] = t.as_dict()
    base = runs["classic_per_sample"].median
    out["loader_speedup_from_files"] = runs["colorgan_from_files"].median / base
    out["loader_speedup_from_cache"] = runs["colorgan_from_cache"].median / base
    out["loader_batches_per_window"] = steps


def bench_stream(a: argparse.Namespace, device: torch.device, root: Path, out: dict[str, Any]) -> None:
    """colorgan-prepare's cost on these photos, then the streaming loader from the local chunks against the folder
    and cache paths (the same training photos, batch size and workers), each with its peak memory."""
    from colorgan.benchmark.streaming import loader_runs, prepare_cost
    from colorgan.data.streaming import StreamingDataModule

    prepared = a.work_dir / f"prepared_{root.name}_{a.image_size}"
    # a test split of its own: with none, the val photos would be stored twice (as test) and the size overstated
    cost = prepare_cost(root, prepared, a.image_size, a.workers, val_fraction=0.05, test_fraction=0.05)
    out["prepare"] = cost
    bs = a.loader_batch_size

    def streaming() -> StreamingDataModule:
        dm = StreamingDataModule(input_dir=str(prepared), image_size=a.image_size, batch_size=bs,
                                 num_workers=a.workers, channels_last=a.channels_last,
                                 compile_lab=a.compile_lab == "on")
        dm.prepare_data()
        dm.setup("fit")
        return dm

    warm = 4 * max(1, a.workers) + 2
    runs = loader_runs({"folder": lambda: _datamodule(a, root, False, bs),
                        "cache": lambda: _datamodule(a, root, True, bs),
                        "streaming": streaming}, device, warm, a.windows, a.loader_steps)
    for name, r in runs.items():
        out[f"stream_loader_{name}"] = r


def bench_e2e(a: argparse.Namespace, device: torch.device, root: Path, out: dict[str, Any]) -> None:
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    for name, cache in (("files", False), ("cache", True)):
        dm = _datamodule(a, root, cache, a.batch_size)
        model = make_model(a.image_size, a.ngf, a.ndf, a.compile, a.channels_last, a.generator, a.encoder)
        t = lightning_fit(model, None, datamodule=dm, accelerator=accelerator, precision=a.precision,
                          batch_size=a.batch_size, warmup=a.warmup, windows=a.windows, steps_per_window=a.steps)
        out[f"train_end_to_end_{name}"] = t.as_dict()


def _generator_label(a: argparse.Namespace) -> str:
    return f"{a.generator} ({a.encoder})" if a.generator in ENCODER_GENERATORS else a.generator


def _rows(res: dict[str, Any], a: argparse.Namespace) -> list[tuple[str, str]]:
    def f(key: str, fmt: str = "{:.1f}") -> str | None:
        v = res.get(key)
        if isinstance(v, dict):
            v = v["median"]
        return None if v is None else fmt.format(v)

    rows = [
        ("setup", f"{res['machine'].get('gpu', res['machine']['cpu'])}, {a.precision}, batch {a.batch_size}, "
                  f"{a.image_size} px, {_generator_label(a)}, ngf {a.ngf}, compile {'on' if a.compile else 'off'}, "
                  f"channels_last {'on' if a.channels_last else 'off'}, compile_lab {a.compile_lab}, "
                  f"{a.workers} workers"),
    ]
    def spread(key: str) -> str | None:
        pairs = res.get("host_overhead", {}).get(key)
        if not pairs:
            return None
        windows = pairs["windows_ms"]
        return (f"{statistics.median(windows):.2f} ({min(windows):.2f} to {max(windows):.2f} over {len(windows)} "
                f"window pairs; in CPU time {pairs['cpu_median_ms']:.2f})")

    def loader(key: str) -> str | None:
        r = res.get(key)
        if not r:
            return None
        w = r["windows"]
        return (f"{r['median']:.1f} ({min(w):.1f} to {max(w):.1f} over {len(w)} windows); peak memory "
                f"{r['peak_memory_gb']:.2f} GB")

    for name in ("folder", "cache", "streaming"):
        value = loader(f"stream_loader_{name}")
        if value is not None:
            rows.append((f"loader img/s, {name} path (process + workers' peak memory)", value))
    if "prepare" in res:
        p = res["prepare"]
        rows += [
            ("colorgan-prepare per 1,000 photos",
             f"{p['seconds_per_1000']:.1f} s ({p['workers']} workers), {p['mb_per_1000']:.1f} MB stored "
             f"(source {p['source_mb_per_1000']:.1f} MB)"),
            ("ImageNet (1.28 M photos), extrapolated linearly",
             f"{p['imagenet_extrapolated_hours']:.1f} h, {p['imagenet_extrapolated_gb']:.0f} GB stored"),
        ]
    for label, key, fmt in (
        ("colorize a 12 MP gray photo (s)", "colorize_12mp_gray_s", "{:.2f}"),
        ("colorize a 12 MP colour photo (s)", "colorize_12mp_colour_s", "{:.2f}"),
        ("peak memory, colorize (GB)", "peak_memory_gb_colorize", "{:.2f}"),
        ("train img/s, model only (Lightning)", "train_model_only_lightning", "{:.1f}"),
        ("train img/s, model only (plain PyTorch loop)", "train_model_only_plain", "{:.1f}"),
        ("Lightning step cost vs plain loop", "lightning_cost_pct", "{:+.1f} %"),
        ("GFLOP per training image (flop_counter)", "train_gflop_per_image", "{:.1f}"),
        ("achieved TFLOP/s", "achieved_tflops", "{:.2f}"),
        ("share of device peak", "share_of_peak_pct", "{:.1f} %"),
        ("peak memory, training (GB)", "peak_memory_gb_train", "{:.2f}"),
        ("host overhead per step (ms), tiny model, over the plain loop", "host_overhead_ms", None),
        ("Lightning's own loop per step (ms), tiny model, over the plain loop", "lightning_floor_ms", None),
        ("train img/s end to end, from files", "train_end_to_end_files", "{:.1f}"),
        ("train img/s end to end, from cache", "train_end_to_end_cache", "{:.1f}"),
        ("loader img/s, classic per-sample pipeline", "loader_classic_per_sample", "{:.1f}"),
        ("loader img/s, colorgan from JPEG files", "loader_colorgan_from_files", "{:.1f}"),
        ("loader img/s, colorgan from cache", "loader_colorgan_from_cache", "{:.1f}"),
        ("loader speed-up from files (x classic)", "loader_speedup_from_files", "{:.1f}x"),
        ("loader speed-up from cache (x classic)", "loader_speedup_from_cache", "{:.1f}x"),
        ("LAB of one loader batch, compiled kernel (ms)", "lab_ms_compiled", "{:.2f}"),
        ("LAB of one loader batch, kornia eager (ms)", "lab_ms_kornia_eager", "{:.2f}"),
        ("LAB of one photo, scikit-image float64 (ms)", "lab_ms_skimage_per_photo", "{:.2f}"),
    ):
        value = spread(key) if fmt is None else f(key, fmt)
        if value is not None:
            rows.append((label, value))
        elif key == "share_of_peak_pct" and "achieved_tflops" in res:
            rows.append((label, "n/a (no known peak for this device)"))
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    a = parse_args(argv)
    host_memory = keep_freed_memory()  # as the training and colorize commands do; the classic workers inherit it
    logging.getLogger("lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="lightning")
    device = torch.device("cuda" if (a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available()))
                          else "cpu")
    gpu = device.type == "cuda"
    a.precision = auto_precision() if a.precision == "auto" and gpu else ("32-true" if a.precision == "auto"
                                                                           else a.precision)
    a.batch_size = a.batch_size or (16 if gpu else 4)
    a.warmup = a.warmup if a.warmup is not None else (10 if gpu else 1)
    a.steps = a.steps or (20 if gpu else 2)
    a.channels_last = a.channels_last == "on" or (a.channels_last == "auto" and gpu)
    if a.workers is None:
        from colorgan.config.resolvers import cpu_workers

        a.workers = cpu_workers()
    if gpu:
        torch.backends.cudnn.benchmark = True

    res: dict[str, Any] = {"machine": {**machine_info(device), "keep_freed_memory": host_memory}, "settings": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}}
    print("machine:", json.dumps(res["machine"]), file=sys.stderr)

    root = a.data
    if root is None and ({"data", "e2e", "stream"} & set(a.only)):
        w, h = (int(x) for x in a.photo_size.lower().split("x"))
        root = a.work_dir / f"photos_{a.photos}_{w}x{h}"
        make_photos(root, a.photos, w, h)
    if "colorize" in a.only:  # first: on a CPU the peak memory is the whole process's so far
        bench_colorize(a, device, res)
    if "model" in a.only:
        bench_model(a, device, res)
    if "data" in a.only:
        bench_data(a, device, root, res)
    if "e2e" in a.only:
        bench_e2e(a, device, root, res)
    if "stream" in a.only:
        bench_stream(a, device, root, res)

    table = markdown_table(_rows(res, a))
    res["table"] = table
    print(table)
    if a.output:
        a.output.parent.mkdir(parents=True, exist_ok=True)
        a.output.write_text(json.dumps(res, indent=2))
        print(f"results written to {a.output}", file=sys.stderr)
    return res


if __name__ == "__main__":
    main()
