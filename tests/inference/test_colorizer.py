"""The Colorizer API: output size and lightness, awkward inputs, checkpoint safety, out-of-memory retries."""

from __future__ import annotations

import logging
import pathlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from skimage.color import rgb2lab
from torch import Tensor, nn

from colorgan.checkpoints.reading import CheckpointError
from colorgan.color import rgb_to_model_lab
from colorgan.data.decode import ImageDecodeError
from colorgan.inference.colorizer import Colorizer
from colorgan.inference.fullres import _source_rows
from colorgan.inference.letterbox import letterbox_box

from helpers.photos import synthetic_photo

# Largest L difference allowed between input and output, in L* units (0..100): 8-bit rounding of the output.
L_TOLERANCE = 0.5


class SaturatedGenerator(nn.Module):
    """Predicts the same strong colour everywhere: most of it is out of the sRGB gamut at dark and bright L."""

    divisor = 32

    def __init__(self, a: float = 0.9, b: float = 0.8) -> None:
        super().__init__()
        self.register_buffer("ab", torch.tensor([a, b]).view(1, 2, 1, 1))

    def forward(self, L: Tensor) -> Tensor:
        return self.ab.expand(L.shape[0], 2, *L.shape[-2:])


def lightness(image: Image.Image | np.ndarray) -> Tensor:
    """L* (0..100) of an 8-bit gray or RGB(A) image, ``(H, W)``."""
    arr = np.asarray(image)
    t = torch.from_numpy(np.array(arr))
    t = t[None].expand(3, -1, -1) if t.dim() == 2 else t.permute(2, 0, 1)[:3]
    return (rgb_to_model_lab(t.contiguous())[0][0] + 1.0) * 50.0


@pytest.fixture(scope="module")
def colorizer(tiny_ckpt: Path) -> Colorizer:
    return Colorizer.from_checkpoint(tiny_ckpt, device="cpu")


def gray_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    rgb = synthetic_photo(np.random.default_rng(seed), max(height, 2), max(width, 2))[:height, :width]
    return np.asarray(Image.fromarray(rgb).convert("L"))


# ------------------------------------------------------------------ size and L
@pytest.mark.parametrize("shape", [(37, 53), (53, 37), (3, 700), (700, 3), (1, 1), (64, 64), (129, 257)])
def test_output_has_input_size_and_lightness(colorizer: Colorizer, shape: tuple[int, int]) -> None:
    gray = gray_photo(*shape)
    out = colorizer(gray)
    assert out.mode == "RGB"
    assert out.size == (shape[1], shape[0])
    assert (lightness(out) - lightness(gray)).abs().max() < L_TOLERANCE


@pytest.mark.parametrize("shape", [(48, 80), (1, 9), (300, 2)])
def test_lightness_kept_even_where_colours_leave_the_gamut(shape: tuple[int, int]) -> None:
    """Saturated colours at near-black and near-white cannot be shown: chroma gives way, lightness does not."""
    gray = np.tile(np.linspace(0, 255, shape[1]).round().astype(np.uint8), (shape[0], 1))
    out = Colorizer(SaturatedGenerator(), image_size=32, device="cpu")(gray)
    assert out.size == (shape[1], shape[0])
    assert (lightness(out) - lightness(gray)).abs().max() < L_TOLERANCE
    if shape[1] > 3:  # mid-gray pixels do get the colour
        mid = np.asarray(out)[:, shape[1] // 2].astype(int)
        assert (mid.max(axis=-1) - mid.min(axis=-1)).min() > 40


def test_colour_photo_keeps_its_own_lightness(colorizer: Colorizer) -> None:
    rgb = synthetic_photo(np.random.default_rng(3), 45, 71)
    out = colorizer(rgb)
    assert out.size == (71, 45)
    assert (lightness(out) - lightness(rgb)).abs().max() < L_TOLERANCE


def test_very_large_photo_keeps_its_size(colorizer: Colorizer) -> None:
    """4000 x 6000 (24 megapixels) goes through the banded full-resolution path."""
    gray = np.broadcast_to(np.linspace(0, 255, 4000, dtype=np.float32).astype(np.uint8)[None, :], (6000, 4000))
    out = colorizer(np.ascontiguousarray(gray))
    assert out.size == (4000, 6000)
    got = np.asarray(out)
    rows = [0, 2999, 5999]  # first, middle and last band
    assert (lightness(got[rows]) - lightness(gray[rows])).abs().max() < L_TOLERANCE


def test_banded_upsampling_matches_interpolate() -> None:
    """The row-by-row bilinear upsampling gives what F.interpolate gives for the whole picture at once."""
    ab = torch.randn(2, 16, 16)
    for height, width in [(37, 53), (3, 700), (700, 3), (16, 16), (8, 5)]:
        expected = F.interpolate(ab[None], size=(height, width), mode="bilinear", align_corners=False)[0]
        rows = F.interpolate(ab[None], size=(16, width), mode="bilinear", align_corners=False)[0]
        i0, i1, w = _source_rows(height, 16, torch.device("cpu"))
        got = torch.lerp(rows[:, i0, :], rows[:, i1, :], w[None, :, None])
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_letterbox_keeps_aspect_ratio() -> None:
    box = letterbox_box(300, 600, 128)
    assert (box.height, box.width, box.top, box.left) == (64, 128, 32, 0)
    sliver = letterbox_box(3, 700, 128)
    assert sliver.height == 1 and sliver.width == 128


class RecordingRamp(nn.Module):
    """A position-sensitive fake generator: ``a`` grows left to right across the square and ``b`` top to bottom;
    it keeps every square it is given."""

    divisor = 32

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Tensor] = []

    def forward(self, L: Tensor) -> Tensor:
        self.seen.append(L.clone())
        return ramp_ab(L.shape[-1]).expand(L.shape[0], 2, -1, -1)


def ramp_ab(size: int) -> Tensor:
    """``(1, 2, size, size)``: a from -0.1 to 0.1 over the columns, b likewise over the rows (well inside gamut)."""
    ramp = ((torch.arange(size, dtype=torch.float32) + 0.5) / size - 0.5) * 0.2
    return torch.stack([ramp.view(1, size).expand(size, size), ramp.view(size, 1).expand(size, size)])[None]


@pytest.mark.parametrize("shape", [(20, 50), (45, 18), (30, 30), (3, 70), (64, 17)])
def test_the_photo_sits_centred_in_the_square_and_the_rest_repeats_its_edges(shape: tuple[int, int]) -> None:
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width]
    gray = (40 + 90 * yy / max(height - 1, 1) + 90 * xx / max(width - 1, 1)).round().astype(np.uint8)
    generator = RecordingRamp()
    out = Colorizer(generator, image_size=64, device="cpu")(gray)
    (square,) = generator.seen
    q = square[0, 0]
    assert q.shape == (64, 64)
    # aspect ratio kept, longer side filling the square, centred
    h, w = round(height * 64 / max(shape)), round(width * 64 / max(shape))
    top, left = (64 - h) // 2, (64 - w) // 2
    photo = q[top : top + h, left : left + w]
    if h > 1:  # the photo brightens downwards and rightwards in every row and column: it is exactly there
        assert (photo.diff(dim=0) > 0).all()
    if w > 1:
        assert (photo.diff(dim=1) > 0).all()
    L = (torch.from_numpy(rgb2lab(np.repeat(gray[..., None], 3, -1) / 255.0)[..., 0]).float() / 50 - 1)
    assert photo.min() >= L.min() - 0.01 and photo.max() <= L.max() + 0.01
    # the band around it repeats the photo's edge pixels
    torch.testing.assert_close(q[:top], q[top : top + 1].expand(top, -1), rtol=0, atol=0)
    torch.testing.assert_close(q[top + h :], q[top + h - 1 : top + h].expand(64 - top - h, -1), rtol=0, atol=0)
    torch.testing.assert_close(q[:, :left], q[:, left : left + 1].expand(-1, left), rtol=0, atol=0)
    torch.testing.assert_close(q[:, left + w :], q[:, left + w - 1 : left + w].expand(-1, 64 - left - w), rtol=0,
                               atol=0)
    # and the colour comes from the photo's own place in the square, stretched over the photo
    expected = F.interpolate(ramp_ab(64)[:, :, top : top + h, left : left + w], size=shape, mode="bilinear",
                             align_corners=False)[0]
    got = torch.from_numpy(rgb2lab(np.asarray(out) / 255.0)[..., 1:] / 110.0).permute(2, 0, 1).float()
    torch.testing.assert_close(got, expected, atol=0.012, rtol=0)


# ------------------------------------------------------------- input kinds
def _save(img: Image.Image, folder: Path, name: str) -> Path:
    path = folder / name
    img.save(path)
    return path


@pytest.fixture(scope="module")
def awkward_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, np.ndarray, np.ndarray | None]]:
    """Photos in awkward modes: ``name -> (path, expected gray/RGB pixels, expected alpha or None)``."""
    folder = tmp_path_factory.mktemp("awkward")
    rng = np.random.default_rng(7)
    rgb = synthetic_photo(rng, 41, 59)
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    alpha = (np.arange(41 * 59).reshape(41, 59) % 251).astype(np.uint8)
    files: dict[str, tuple[Path, np.ndarray, np.ndarray | None]] = {}

    files["gray"] = (_save(Image.fromarray(gray), folder, "gray.png"), gray, None)
    files["rgb"] = (_save(Image.fromarray(rgb), folder, "rgb.png"), rgb, None)
    rgba = Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA")
    files["rgba"] = (_save(rgba, folder, "rgba.png"), rgb, alpha)
    la = Image.fromarray(np.dstack([gray, alpha]), mode="LA")
    files["la"] = (_save(la, folder, "la.png"), gray, alpha)
    palette = Image.fromarray(rgb).quantize(64)
    files["palette"] = (_save(palette, folder, "palette.png"), np.asarray(palette.convert("RGB")), None)
    transparent = palette.copy()
    transparent.info["transparency"] = 0
    expected_alpha = np.where(np.asarray(palette) == 0, 0, 255).astype(np.uint8)
    files["palette_transparent"] = (
        _save(transparent, folder, "palette_t.png"), np.asarray(palette.convert("RGB")), expected_alpha,
    )
    cmyk = Image.fromarray(rgb).convert("CMYK")
    cmyk.save(folder / "cmyk.tif")
    files["cmyk"] = (folder / "cmyk.tif", np.asarray(Image.open(folder / "cmyk.tif").convert("RGB")), None)
    sixteen = (gray.astype(np.uint16) << 8) | 0x80
    files["16bit"] = (_save(Image.fromarray(sixteen), folder, "gray16.png"), gray, None)
    bilevel = Image.fromarray(gray).convert("1")
    files["bilevel"] = (_save(bilevel, folder, "bilevel.png"), np.asarray(bilevel.convert("L")), None)
    as_float = Image.fromarray(gray.astype(np.float32) / 255.0, mode="F")
    files["float"] = (_save(as_float, folder, "float.tif"), gray, None)
    jpeg = _save(Image.fromarray(rgb), folder, "photo.jpg")
    files["jpeg"] = (jpeg, np.asarray(Image.open(jpeg)), None)
    return files


@pytest.mark.parametrize(
    "kind", ["gray", "rgb", "rgba", "la", "palette", "palette_transparent", "cmyk", "16bit", "bilevel", "float", "jpeg"]
)
def test_awkward_modes(colorizer: Colorizer, awkward_files: dict, kind: str) -> None:
    path, pixels, alpha = awkward_files[kind]
    out = colorizer(path)
    assert out.size == (pixels.shape[1], pixels.shape[0])
    assert out.mode == ("RGBA" if alpha is not None else "RGB")
    if alpha is not None:
        np.testing.assert_array_equal(np.asarray(out)[..., 3], alpha)
    assert (lightness(out) - lightness(pixels)).abs().max() < L_TOLERANCE


def test_exif_orientation_is_applied(colorizer: Colorizer, tmp_path: Path) -> None:
    img = Image.fromarray(gray_photo(20, 40))  # 40 wide, 20 high as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif.tobytes())
    assert colorizer(path).size == (20, 40)
    assert colorizer(Image.open(path)).size == (20, 40)


def test_all_input_kinds_give_the_same_photo(colorizer: Colorizer, awkward_files: dict) -> None:
    path, rgb, _ = awkward_files["rgb"]
    expected = np.asarray(colorizer(path))
    for image in (str(path), Image.open(path), rgb, torch.from_numpy(rgb).permute(2, 0, 1), rgb / 255.0):
        np.testing.assert_array_equal(np.asarray(colorizer(image)), expected)


def test_bad_inputs_name_the_problem(colorizer: Colorizer, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    with pytest.raises(ImageDecodeError, match="broken.jpg.*not a readable image"):
        colorizer(broken)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        colorizer(np.zeros((4, 4, 7), np.uint8))
    with pytest.raises(TypeError, match="cannot colorize a dict"):
        colorizer({"not": "an image"})
    results = colorizer.colorize_batch([broken, gray_photo(10, 12)])
    assert results[0].image is None and "broken.jpg" in results[0].error
    assert results[1].image is not None and results[1].image.size == (12, 10)


def test_size_is_rounded_to_what_the_generator_accepts(tiny_ckpt: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        c = Colorizer.from_checkpoint(tiny_ckpt, device="cpu", size=100)
    assert c.size == 128 and c.image_size == 64
    assert "not a multiple of 64" in caplog.text
    assert c(gray_photo(30, 50)).size == (50, 30)


# ------------------------------------------------------------- checkpoints
def test_untrusted_checkpoint_cannot_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "code_ran"

    class Payload:
        def __reduce__(self):  # what a malicious pickle does: call anything on load
            return (pathlib.Path.touch, (marker,))

    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"generator.w": torch.zeros(1)}, "hyper_parameters": {}, "x": Payload()}, path)
    with pytest.raises(CheckpointError, match="evil.ckpt"):
        Colorizer.from_checkpoint(path, device="cpu")
    assert not marker.exists()


def test_non_colorgan_checkpoint_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "classifier.ckpt"
    torch.save({"state_dict": {"backbone.conv.weight": torch.zeros(2, 2)}, "epoch": 3}, path)
    with pytest.raises(CheckpointError, match=r"classifier\.ckpt.*not a colorgan checkpoint") as err:
        Colorizer.from_checkpoint(path, device="cpu")
    assert "epoch, state_dict" in str(err.value)  # what the file does hold


def test_torchscript_file_is_refused_with_a_pointer(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with pytest.warns(FutureWarning):
        torch.jit.trace(nn.Conv2d(1, 2, 1), torch.zeros(1, 1, 4, 4)).save(str(path))
    with pytest.raises(CheckpointError, match="TorchScript.*--format weights"):
        Colorizer.from_checkpoint(path, device="cpu")


def test_mismatched_settings_and_weights(tiny_ckpt: Path, tmp_path: Path) -> None:
    ckpt = torch.load(tiny_ckpt, weights_only=True)
    ckpt["hyper_parameters"]["generator"]["ngf"] = 16
    path = tmp_path / "edited.ckpt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="edited.ckpt.*do not fit"):
        Colorizer.from_checkpoint(path, device="cpu")


# -------------------------------------------------------------- out of memory
def _oom_when(colorizer: Colorizer, monkeypatch: pytest.MonkeyPatch, condition) -> list[tuple[int, ...]]:
    """Make the generator raise torch.cuda.OutOfMemoryError whenever ``condition(x)``; returns the shapes it saw."""
    seen: list[tuple[int, ...]] = []
    forward = colorizer.generator.forward

    def flaky(x: Tensor) -> Tensor:
        seen.append(tuple(x.shape))
        if condition(x):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return forward(x)

    monkeypatch.setattr(colorizer.generator, "forward", flaky)
    return seen


def test_out_of_memory_retries_one_by_one_at_a_smaller_size(tiny_ckpt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = Colorizer.from_checkpoint(tiny_ckpt, device="cpu", size=128)
    seen = _oom_when(c, monkeypatch, lambda x: x.shape[-1] == 128)
    results = c.colorize_batch([gray_photo(30, 40), gray_photo(50, 20, seed=1)])
    assert [r.image.size for r in results] == [(40, 30), (20, 50)]
    assert seen[0][0] == 2  # the batch first
    assert (1, 1, 64, 64) in seen
    for r in results:
        assert r.error is None
        assert any("out of GPU memory" in n and "64 px" in n for n in r.notes)


def test_out_of_memory_once_is_reported_not_lost(tiny_ckpt: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    c = Colorizer.from_checkpoint(tiny_ckpt, device="cpu", size=128)
    calls = {"n": 0}

    def first_call(x: Tensor) -> bool:
        calls["n"] += 1
        return calls["n"] == 1

    _oom_when(c, monkeypatch, first_call)
    with caplog.at_level(logging.WARNING):
        out = c(gray_photo(33, 44))
    assert out.size == (44, 33)
    assert "out of GPU memory" in caplog.text


def test_out_of_memory_at_every_size_fails_that_photo_only(tiny_ckpt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = Colorizer.from_checkpoint(tiny_ckpt, device="cpu", size=128)
    _oom_when(c, monkeypatch, lambda x: bool(x.amax() > 0.5))  # only the bright photo is "too big"
    bright, dark = np.full((20, 30), 230, np.uint8), np.full((20, 30), 20, np.uint8)
    results = c.colorize_batch([bright, dark])
    assert results[0].image is None and "out of memory at every size" in results[0].error
    assert results[1].image is not None


class AcceleratorThatRunsOut(nn.Module):
    """The generator on a stand-in accelerator (the ``meta`` device: no memory at all): every call made there runs
    out of memory, as a full GPU's would; on the CPU it is the real generator."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.divisor = generator.divisor
        self.calls: list[str] = []

    def forward(self, x: Tensor) -> Tensor:
        self.calls.append(x.device.type)
        if x.device.type != "cpu":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.generator(x)


def test_out_of_accelerator_memory_falls_back_to_the_cpu(tiny_ckpt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated on the CPU: the generator and the full-resolution join both run out of memory on the device; the
    photo is still colorized, on the CPU, exactly as a CPU colorizer does it, and the notes say so."""
    from colorgan.inference import engine as engine_module

    cpu = Colorizer.from_checkpoint(tiny_ckpt, device="cpu")
    photos = [gray_photo(30, 40), gray_photo(50, 20, seed=1)]
    expected = [np.asarray(r.image) for r in cpu.colorize_batch(photos)]

    rigged = AcceleratorThatRunsOut(cpu.generator)
    c = Colorizer(rigged, cpu.image_size, device="cpu")
    c.device = torch.device("meta")  # "the GPU", set after the weights were loaded on the CPU
    join = engine_module.join_full_resolution_array

    def join_out_of_memory(pixels, ab, device, alpha=None):
        if device.type != "cpu":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return join(pixels, ab, device, alpha)

    monkeypatch.setattr(engine_module, "join_full_resolution_array", join_out_of_memory)
    results = c.colorize_batch(photos)
    for result, want in zip(results, expected):
        assert result.error is None
        np.testing.assert_array_equal(np.asarray(result.image), want)
        assert any("out of GPU memory" in n and "on the CPU instead" in n for n in result.notes), result.notes
        assert any("joining the colours at full size; did that on the CPU" in n for n in result.notes)
    assert rigged.calls == ["meta"] * 3  # on the device: the batch, then each photo alone; then the CPU's copy


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_out_of_gpu_memory_falls_back_to_the_cpu(tiny_ckpt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = Colorizer.from_checkpoint(tiny_ckpt, device="cuda")
    c._cpu_generator()  # the CPU copy is made before the GPU generator is rigged to fail
    _oom_when(c, monkeypatch, lambda x: x.is_cuda)
    result = c.colorize_batch([gray_photo(30, 40)])[0]
    assert result.image is not None and result.image.size == (40, 30)
    assert any("on the CPU" in n for n in result.notes)
