"""The benchmark runs end to end and reports every figure the README quotes (timings are not asserted)."""

from __future__ import annotations

import math

import pytest

from colorgan.benchmark.run import main


@pytest.mark.slow
def test_benchmark_reports_every_section(cpu_benchmark):
    # conftest's run: 64 px, ngf/ndf 8, batches of 2, 24 photos of 96x80, 2 windows of each section (the GPU check's
    # targets test reads the same JSON)
    res, saved = cpu_benchmark["result"], cpu_benchmark["saved"]
    for key in ("train_model_only_lightning", "train_model_only_plain", "train_end_to_end_files",
                "train_end_to_end_cache", "loader_classic_per_sample", "loader_colorgan_from_files",
                "loader_colorgan_from_cache"):
        assert len(saved[key]["windows"]) == 2 and saved[key]["median"] > 0, key
    for key in ("lightning_cost_pct", "loader_speedup_from_files", "loader_speedup_from_cache", "achieved_tflops",
                "colorize_12mp_gray_s", "colorize_12mp_colour_s", "peak_memory_gb_colorize",
                "lab_ms_kornia_eager", "lab_ms_skimage_per_photo"):
        assert math.isfinite(saved[key]), key
    # the FLOP count comes from torch's counter: G + D of a tiny 64 px model, forward and backward
    assert 0.01 < saved["train_gflop_per_image"] < 1.0
    assert saved["machine"]["torch"] and saved["share_of_peak_pct"] is None  # no known peak for a CPU
    assert "lab_ms_compiled" not in saved and isinstance(saved["machine"]["keep_freed_memory"], bool)
    # host overhead: two window pairs each for colorgan's step and Lightning's floor, against the plain loop
    overhead = saved["host_overhead"]
    assert overhead["tiny_model"] == {"image_size": 64, "ngf": 8, "ndf": 8, "batch_size": 2, "windows": 2,
                                      "steps_per_window": 1}
    for key in ("host_overhead_ms", "lightning_floor_ms"):
        pairs = overhead[key]
        assert len(pairs["windows_ms"]) == len(pairs["cpu_windows_ms"]) == 2, key
        assert all(f > 0 and p > 0 for f, p in zip(pairs["fit_ms_per_step"], pairs["plain_ms_per_step"])), key
        assert pairs["windows_ms"] == pytest.approx([f - p for f, p in zip(pairs["fit_ms_per_step"],
                                                                             pairs["plain_ms_per_step"])])
    assert saved["host_overhead_ms_per_step"] == overhead["host_overhead_ms"]["median_ms"]
    assert math.isfinite(saved["lightning_floor_ms_per_step"])
    printed = cpu_benchmark["printed"]
    assert "| loader speed-up from cache (x classic)" in printed and res["table"] in printed
    assert "| host overhead per step (ms), tiny model, over the plain loop" in printed


def test_window_throughput_from_edge_times():
    from colorgan.benchmark.timing import windows_from_marks

    # edges every 2 steps of 4 images: 8 images in 1 s, then in 2 s
    t = windows_from_marks([10.0, 11.0, 13.0], items_per_step=4, steps_per_window=2)
    assert t.per_window == [8.0, 4.0] and t.median == 6.0


def test_benchmark_builds_every_generator_through_the_factory():
    from colorgan.benchmark.models import make_model
    from colorgan.benchmark.run import parse_args
    from colorgan.nn import EncoderUNetGenerator, ResNetUNetGenerator, UNetGenerator

    assert isinstance(make_model(64, 8, 8, False, False).generator, UNetGenerator)
    model = make_model(64, 8, 8, False, False, generator="resnet_unet", encoder="resnet18")
    assert isinstance(model.generator, ResNetUNetGenerator) and model.generator.encoder_name == "resnet18"
    a = parse_args(["--generator", "encoder_unet", "--encoder", "tf_efficientnet_lite0"])
    model = make_model(64, 8, 8, False, False, generator=a.generator, encoder=a.encoder)
    assert isinstance(model.generator, EncoderUNetGenerator) and model.generator.encoder_name == "tf_efficientnet_lite0"


@pytest.mark.slow
def test_benchmark_measures_the_streaming_path_and_prepare(tmp_path, capsys):
    res = main([
        "--device", "cpu", "--only", "stream", "--image-size", "64", "--photos", "24", "--photo-size", "96x80",
        "--work-dir", str(tmp_path), "--windows", "2", "--loader-batch-size", "4", "--loader-steps", "2",
        "--workers", "1", "--compile-lab", "off",
    ])
    for name in ("folder", "cache", "streaming"):
        r = res[f"stream_loader_{name}"]
        assert len(r["windows"]) == 2 and r["median"] > 0 and r["peak_memory_gb"] > 0, name
    prepare = res["prepare"]
    assert prepare["photos"] == 24 and prepare["seconds_per_1000"] > 0
    stored = sum(p.stat().st_size for p in (tmp_path / "prepared_photos_24_96x80_64").rglob("*") if p.is_file())
    assert prepare["mb_per_1000"] == pytest.approx(stored / 24 * 1000 / 1e6)
    assert prepare["imagenet_extrapolated_gb"] == pytest.approx(stored / 24 * 1_281_167 / 1e9)
    printed = capsys.readouterr().out
    assert "| loader img/s, streaming path" in printed and "extrapolated linearly" in printed
