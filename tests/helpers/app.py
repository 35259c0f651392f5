"""Helpers of the page's tests: photos in any mode, models with known colours, the page in a subprocess."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from helpers.photos import synthetic_photo


def photo(height: int, width: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    """A synthetic photo of ``width`` x ``height`` in ``mode`` (``RGBA``: alpha 200 everywhere)."""
    rgb = Image.fromarray(synthetic_photo(np.random.default_rng(seed), height, width))
    if mode == "RGBA":
        rgba = rgb.convert("RGBA")
        rgba.putalpha(200)
        return rgba
    return rgb.convert(mode)


def constant_colour_model(tiny_ckpt: Path, ab: tuple[float, float], path: Path) -> Path:
    """A ``weights`` export of the tiny generator whose last layer always says ``ab`` (before its tanh): a model
    whose colours a test can tell apart from another's."""
    from colorgan.checkpoints.reading import load_generator
    from colorgan.export import weights_dict

    generator, weights = load_generator(tiny_ckpt)
    *_, weight, bias = generator.parameters()
    with torch.no_grad():
        weight.zero_()
        bias.copy_(torch.tensor(ab))
    torch.save(weights_dict(generator, weights.generator, weights.image_size), path)
    return path


def peaked_classification_model(ckpt: Path, path: Path, ab: tuple[float, float] = (40.0, 40.0)) -> Path:
    """A ``weights`` export of a classification generator (``model.head=classification``) whose logits always put
    the bin nearest ``ab`` (CIE units) 4 above the others, which share the rest evenly: the colour of that bin at a
    low temperature, a grayer mean of all bins at T = 1 (softmax gives the peak 17 %)."""
    from colorgan.checkpoints.reading import load_generator
    from colorgan.export import weights_dict

    generator, weights = load_generator(ckpt)
    last = generator.classify[-1]
    peak = int(torch.cdist(torch.tensor([ab]), generator.bins).argmin())
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
        last.bias[peak] = 4.0
    torch.save(weights_dict(generator, weights.generator, weights.image_size), path)
    return path


def ab_distance(image: Image.Image, x: int, y: int, colour: str, half: int = 6) -> float:
    """How far (CIE ab units) the mean ab of the square of side ``2 * half + 1`` around (x, y) is from ``colour`` at
    the photo's own lightness there: how near a colorization came to a colour point put there."""
    from PIL import ImageColor

    from colorgan.color import rgb_to_model_lab
    from colorgan.inference.hints import snap_ab

    rgb = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None].float() / 255
    L, ab = rgb_to_model_lab(rgb)
    rows, cols = slice(y - half, y + half + 1), slice(x - half, x + half + 1)
    want = snap_ab(ImageColor.getrgb(colour), L[0, 0, rows, cols].mean())
    return float((ab[0, :, rows, cols].mean((1, 2)) - want).norm() * 110)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningApp:
    """A ``python -m colorgan.app`` process serving the page."""

    process: subprocess.Popen
    url: str
    port: int
    temp_dir: Path
    cwd: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_app(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> RunningApp:
    """Start the page in a subprocess on a free loopback port and wait until it says where it is."""
    port = free_port()
    log = cwd / f"app-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "colorgan.app", "--port", str(port), "--device", "cpu", *args],
            cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        url = re.search(r"Open (http://\S+) in your browser", text)
        temp = re.search(r"Uploads and results live in (\S+) \(", text)
        if url and temp:
            return RunningApp(process, url.group(1).rstrip("/"), port, Path(temp.group(1)), cwd, log)
        if process.poll() is not None:
            raise AssertionError(f"colorgan-app exited with {process.returncode} before serving:\n{text[-3000:]}")
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"colorgan-app did not serve within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def stop_app(app: RunningApp, sig: int | None = None, timeout: float = 30) -> int:
    """Stop the page like Ctrl-C (SIGINT) or a service manager (SIGTERM) and return its exit code."""
    import signal

    if app.process.poll() is None:
        app.process.send_signal(sig or signal.SIGINT)
        try:
            return app.process.wait(timeout)
        except subprocess.TimeoutExpired:
            app.process.kill()
            app.process.wait()
            raise AssertionError(f"colorgan-app did not stop within {timeout} s:\n{app.output()[-3000:]}") from None
    return app.process.returncode


def multipart_upload(name: str, data: bytes) -> tuple[str, bytes]:
    """``(Content-Type, body)`` of an upload of one file as the page sends it to ``/gradio_api/upload``."""
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body
