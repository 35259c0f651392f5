"""colorgan.evaluate: finite metrics next to a gray baseline, metrics.json, the sample grid, the FID note."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import linalg
from skimage.color import lab2rgb, rgb2lab
from torch import nn

from colorgan.evaluate import BASELINE_ROW, MODEL_ROW, evaluate, fid_unavailable
from colorgan.inference.colorizer import Colorizer
from colorgan.metrics import SELECTION_METRIC

from helpers.photos import write_photos
from helpers.runs import run_module

METRICS = ("psnr", "ssim", "l1_ab", "swd_ab", SELECTION_METRIC, "colorfulness", "colorfulness_true",
           "colorfulness_gap")


def test_evaluate_reports_model_and_gray_baseline(compose_eval, tiny_ckpt: Path, photo_root: Path, capsys) -> None:
    cfg = compose_eval(f"ckpt_path={tiny_ckpt}", f"data.root={photo_root}", "num_grid_images=3")
    result = evaluate(cfg)
    assert result["photos"] == 8  # photo_root/test
    for row in (MODEL_ROW, BASELINE_ROW):
        for name in METRICS:
            assert math.isfinite(result[row][name]), f"{row}.{name}"
    baseline = result[BASELINE_ROW]
    assert baseline["colorfulness"] < 1.0  # gray is gray
    assert baseline["l1_ab"] > 0.01  # and the truth is not
    assert baseline["colorfulness_true"] == pytest.approx(result[MODEL_ROW]["colorfulness_true"])
    assert result["image_size"] == 64  # the checkpoint's training size

    out = Path(cfg.paths.output_dir)
    assert json.loads((out / "metrics.json").read_text())[BASELINE_ROW] == pytest.approx(baseline)
    grid = Image.open(out / "samples.png")
    assert grid.height > 3 * 64 and grid.width > 3 * 64  # 3 rows (gray | colorized | truth) of 3 photos
    printed = capsys.readouterr().out
    assert "gray_baseline" in printed and "lift" in printed
    header = printed.splitlines()[1].split()
    assert header[:5] == ["psnr", "ssim", "l1_ab", "swd_ab", SELECTION_METRIC]  # the selection metric next to L1
    assert f"{SELECTION_METRIC}: lower" in printed
    assert ("fid" in result[MODEL_ROW]) != bool(result["fid_note"])
    if result["fid_note"]:
        assert result["fid_note"] in printed


class ChannelStats(nn.Module):
    """A tiny FID feature extractor: each channel's mean and standard deviation, RGB (B, 3, H, W) -> (B, 6)."""

    num_features = 6

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        x = rgb.double()
        return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)


def channel_stats(rgb: np.ndarray) -> np.ndarray:
    """The same features, in NumPy, of (N, H, W, 3) images."""
    return np.concatenate([rgb.mean(axis=(1, 2)), rgb.std(axis=(1, 2), ddof=1)], axis=1)


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)), with SciPy's matrix square root."""
    s_r, s_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    root = linalg.sqrtm(s_r @ s_f).real
    return float(((real.mean(0) - fake.mean(0)) ** 2).sum() + np.trace(s_r + s_f - 2 * root))


def colourfulness(rgb: np.ndarray) -> np.ndarray:
    """Hasler & Süsstrunk (2003) of (N, H, W, 3) images in [0, 1], on their 0-255 scale."""
    r, g, b = np.moveaxis(rgb * 255.0, -1, 0)
    rg, yb = (r - g).reshape(len(rgb), -1), (0.5 * (r + g) - b).reshape(len(rgb), -1)
    return np.hypot(rg.std(1), yb.std(1)) + 0.3 * np.hypot(rg.mean(1), yb.mean(1))


def test_scores_match_an_independent_computation(compose_eval, tiny_ckpt: Path, tmp_path: Path) -> None:
    """Every number of both rows, and FID on a small feature extractor, recomputed from the photo files with
    scikit-image's LAB, direct formulas and SciPy; only the generator is colorgan's."""
    root = tmp_path / "photos"
    write_photos(root / "train", 2, size=(64, 64), seed=11)
    files = write_photos(root / "test", 10, size=(64, 64), seed=12)  # the training size: no resize to redo
    # the tiny model paints almost nothing; a bias on its last layer makes its colours far from the gray baseline's
    ckpt = torch.load(tiny_ckpt, weights_only=True)
    (last_bias,) = [k for k, v in ckpt["state_dict"].items() if k.startswith("generator.ups.") and v.shape == (2,)]
    ckpt["state_dict"][last_bias] += torch.tensor([0.4, -0.3])
    tinted = tmp_path / "tinted.ckpt"
    torch.save(ckpt, tinted)
    result = evaluate(compose_eval(f"ckpt_path={tinted}", f"data.root={root}"), fid_features=ChannelStats())
    assert result["photos"] == 10 and result["fid_features"] == "ChannelStats" and result["fid_note"] is None

    truth = np.stack([np.asarray(Image.open(f).convert("RGB"), np.float64) / 255.0 for f in files])  # (N, H, W, 3)
    lab = rgb2lab(truth)
    L, ab = lab[..., :1], lab[..., 1:]
    with warnings.catch_warnings():  # scikit-image warns where it clips out-of-gamut colours
        warnings.simplefilter("ignore")
        gray = np.clip(lab2rgb(np.concatenate([L, np.zeros_like(ab)], -1)), 0, 1)
    # what users get: the photos as colorize writes them (8-bit), at the training size there is nothing to resize
    colorizer = Colorizer.from_checkpoint(tinted, device="cpu")
    pred = np.stack([np.asarray(colorizer(f), np.float64) / 255.0 for f in files])
    ab_pred = rgb2lab(pred)[..., 1:]  # the colours of that picture, as the ab scores read them

    def psnr(x: np.ndarray) -> float:  # over all pixels of all photos, data range 1
        return float(10 * np.log10(1.0 / ((x - truth) ** 2).mean()))

    fid_real = channel_stats(truth)
    expected = {
        BASELINE_ROW: {"psnr": psnr(gray), "l1_ab": np.abs(ab / 110.0).mean(), "colorfulness": 0.0,
                       "fid": frechet_distance(fid_real, channel_stats(gray))},
        MODEL_ROW: {"psnr": psnr(pred), "l1_ab": np.abs(ab_pred - ab).mean() / 110.0,
                    "colorfulness": colourfulness(pred).mean(), "fid": frechet_distance(fid_real, channel_stats(pred))},
    }
    true_colourfulness = colourfulness(truth).mean()
    assert true_colourfulness > 20  # the photos are colourful, so a gray result is far from them
    for row, values in expected.items():
        got = result[row]
        # colorize's 8-bit rounding is the only difference from evaluate's float pictures
        assert got["psnr"] == pytest.approx(values["psnr"], abs=0.02), row
        assert got["l1_ab"] == pytest.approx(values["l1_ab"], abs=2e-4), row
        assert got["colorfulness"] == pytest.approx(values["colorfulness"], abs=0.05), row
        assert got["colorfulness_true"] == pytest.approx(true_colourfulness, abs=0.01), row
        assert got["colorfulness_gap"] == pytest.approx(true_colourfulness - values["colorfulness"], abs=0.06), row
        assert got["fid"] == pytest.approx(values["fid"], rel=1e-2, abs=1e-4), row


def test_split_all_takes_every_photo(compose_eval, tiny_ckpt: Path, photo_root: Path) -> None:
    result = evaluate(compose_eval(f"ckpt_path={tiny_ckpt}", f"data.root={photo_root}", "split=all", "fid=false"))
    assert result["photos"] == 28  # train 16, val 4, test 8
    assert result["fid_note"] == "FID skipped: fid=false"


def test_fid_is_skipped_without_weights_and_never_downloads(tmp_path: Path) -> None:
    weights, note = fid_unavailable(tmp_path / "missing.pth")
    assert weights is None
    assert note.startswith("FID skipped:") and ("torch-fidelity is not installed" in note or "missing.pth" in note)


def test_command_line(tiny_ckpt: Path, photo_root: Path, tmp_path: Path) -> None:
    proc = run_module(
        "colorgan.evaluate", f"ckpt_path={tiny_ckpt}", f"data.root={photo_root}", "data.num_workers=0",
        f"paths.output_dir={tmp_path / 'run'}", "device=cpu", cwd=tmp_path, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "gray_baseline" in proc.stdout
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_evaluate_scores_the_pictures_colorize_delivers(
    compose_eval, tiny_ckpt: Path, photo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """evaluate's numbers are those of the photos colorize writes (lightness kept), not of a clipped conversion."""
    import numpy as np
    import torch
    from torchmetrics.functional.image import peak_signal_noise_ratio

    from colorgan.color import model_lab_to_rgb, rgb_to_model_lab, uint8_to_float
    from colorgan.data import ColorizationDataModule
    from colorgan.inference.colorizer import Colorizer

    original = Colorizer._forward
    # the tiny model paints almost nothing; amplified, many of its colours leave the sRGB gamut
    monkeypatch.setattr(Colorizer, "_forward", lambda self, *a: torch.tanh(original(self, *a) * 1000.0))
    result = evaluate(compose_eval(f"ckpt_path={tiny_ckpt}", f"data.root={photo_root}", "fid=false"))

    dm = ColorizationDataModule(root=str(photo_root), image_size=64, num_workers=0)
    dm.setup("test")
    photos = torch.stack([dm.test_set[i]["image"] for i in range(len(dm.test_set))])  # as evaluate crops them
    colorizer = Colorizer.from_checkpoint(tiny_ckpt, device="cpu")
    delivered = torch.stack(
        [torch.from_numpy(np.asarray(colorizer(p.permute(1, 2, 0).numpy()))).permute(2, 0, 1) for p in photos]
    )
    truth = uint8_to_float(photos)
    L, ab = rgb_to_model_lab(truth)
    clipped = model_lab_to_rgb(L, colorizer.predict_ab(L))
    psnr_delivered = float(peak_signal_noise_ratio(uint8_to_float(delivered), truth, data_range=1.0))
    psnr_clipped = float(peak_signal_noise_ratio(clipped, truth, data_range=1.0))
    assert abs(psnr_delivered - psnr_clipped) > 0.5, "the amplified colours must leave the gamut"
    # colorize writes 8-bit photos: the same pictures up to rounding
    assert result[MODEL_ROW]["psnr"] == pytest.approx(psnr_delivered, abs=0.02)
    l1_delivered = float((rgb_to_model_lab(uint8_to_float(delivered))[1] - ab).abs().mean())
    assert result[MODEL_ROW]["l1_ab"] == pytest.approx(l1_delivered, abs=2e-3)
