"""model.discriminator.spectral_norm: every conv of D normalised to spectral norm 1; trains and resumes on and off."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from colorgan.checkpoints.reading import read_colorgan_checkpoint
from colorgan.checkpoints.resume import ResumeError
from colorgan.nn import PatchDiscriminator
from colorgan.train import train


def convs(d: PatchDiscriminator) -> list[nn.Conv2d]:
    return [m for m in d.modules() if isinstance(m, nn.Conv2d)]


def test_spectral_norm_divides_every_conv_by_its_largest_singular_value():
    torch.manual_seed(0)
    d = PatchDiscriminator(ndf=8, spectral_norm=True)
    assert len(convs(d)) == 5 and all(parametrize.is_parametrized(c, "weight") for c in convs(d))
    x = torch.randn(2, 3, 64, 64)
    for _ in range(30):  # each training forward runs one power iteration
        d(x)
    for conv in convs(d):
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma == pytest.approx(1.0, abs=0.02)
        raw = torch.linalg.matrix_norm(conv.parametrizations.weight.original.detach().flatten(1), ord=2)
        assert raw < 0.8  # N(0, 0.02) weights: spectral norm changes them
    assert d(x).shape == (2, 1, 6, 6)


def test_spectral_norm_is_off_by_default():
    assert not any(parametrize.is_parametrized(c) for c in convs(PatchDiscriminator(ndf=8)))


# off is what every other training test runs (and tests/test_train.py resumes); it is here for the comparison
@pytest.mark.parametrize("spectral_norm", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_discriminator_trains_and_resumes_with_and_without_spectral_norm(compose_cfg, photo_root, tmp_path,
                                                                        spectral_norm):
    setting = f"model.discriminator.spectral_norm={str(spectral_norm).lower()}"
    first = compose_cfg(f"data.root={photo_root}", setting, experiment=None, output="first")
    train(first)
    ckpt = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    saved = read_colorgan_checkpoint(ckpt)
    assert saved["hyper_parameters"]["discriminator"]["spectral_norm"] is spectral_norm
    sn_keys = [k for k in saved["state_dict"] if "parametrizations.weight.original" in k]
    assert len(sn_keys) == (5 if spectral_norm else 0)
    copy = tmp_path / "resume.ckpt"
    shutil.copyfile(ckpt, copy)
    second = compose_cfg(f"data.root={photo_root}", setting, f"ckpt_path={copy}", "trainer.max_epochs=2",
                         experiment=None, output="second")
    train(second)
    resumed = read_colorgan_checkpoint(Path(second.paths.output_dir) / "checkpoints" / "last.ckpt")
    assert resumed["epoch"] == 2 and resumed["global_step"] == saved["global_step"] + 4
    key = "discriminator.model.0.parametrizations.weight.original" if spectral_norm else "discriminator.model.0.weight"
    assert not torch.equal(resumed["state_dict"][key], saved["state_dict"][key])  # D went on training
    if spectral_norm:
        other = compose_cfg(f"data.root={photo_root}", f"ckpt_path={copy}", experiment=None, output="third")
        with pytest.raises(ResumeError, match="model.discriminator.spectral_norm: checkpoint True, config False"):
            train(other)
