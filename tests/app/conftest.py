"""Fixtures of the page's tests: dropped files as the page stores them, and a running page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from helpers.app import RunningApp, start_app, stop_app


@pytest.fixture
def drop(tmp_path: Path) -> Callable[..., Path]:
    """``drop(name, image=None, data=None)`` -> the path of a file as the page stores an upload: its own name in a
    folder of its own. ``image``: a PIL image saved in the format its name says; ``data``: raw bytes."""
    count = iter(range(10_000))

    def _drop(name: str, image: Image.Image | None = None, data: bytes | None = None, fmt: str | None = None) -> Path:
        folder = tmp_path / "uploads" / f"{next(count):04x}"
        folder.mkdir(parents=True)
        path = folder / name
        if image is not None:
            image.save(path, format=fmt)
        else:
            path.write_bytes(data or b"")
        return path

    return _drop


@pytest.fixture(scope="session")
def running_app(tiny_ckpt: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The page with the tiny checkpoint, started from a folder that holds a file the page must never serve.

    ``GRADIO_SERVER_NAME=0.0.0.0`` is set in its environment: the page must listen on 127.0.0.1 all the same.
    """
    cwd = tmp_path_factory.mktemp("app_cwd")
    (cwd / "secret.txt").write_text("not for the page")
    app = start_app(
        "--ckpt", str(tiny_ckpt), "--max-upload-mb", "1", "--keep-jobs", "3", cwd=cwd,
        env={"GRADIO_SERVER_NAME": "0.0.0.0"},
    )
    yield app
    assert stop_app(app) == 0, app.output()[-3000:]  # Ctrl-C: a clean exit ...
    assert not app.temp_dir.exists(), f"{app.temp_dir} is left behind"  # ... that removes the temporary folder


@pytest.fixture(scope="session")
def tiny_classification_ckpt(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``last.ckpt`` of the TINY model trained with ``model.head=classification`` on ``photo_root`` (its own
    temperature: the default, 0.38)."""
    from helpers.runs import train_tiny

    return train_tiny(
        tmp_path_factory.mktemp("tiny_classification_run"), f"data.root={photo_root}", "model.head=classification"
    )
