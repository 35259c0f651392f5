"""The generator's moving average (model.ema_decay): the update, what uses it, checkpoints and resuming."""

from __future__ import annotations

import copy
import logging

import lightning as L
import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from colorgan.checkpoints.reading import read_colorgan_checkpoint, read_generator
from colorgan.checkpoints.resume import resolve_ckpt_path
from colorgan.training.ema import generator_ema, update_ema

from helpers.tiny import (
    SeedEachEpoch,
    StopAfterEpochs,
    epoch_seeded_data,
    params,
    state,
    tiny_data,
    tiny_model,
    tiny_trainer,
)

DECAY = 0.9


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1))


def _train_a_little(net: nn.Module, seed: int) -> None:
    """Moves the weights and the BatchNorm statistics as a training step would."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    net.train()(torch.randn(3, 1, 6, 6))


def _floats(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in module.state_dict().items() if v.is_floating_point()}


def test_update_is_torchs_ema_of_weights_and_batchnorm_statistics():
    """Step by step the same as AveragedModel.update_parameters with get_ema_multi_avg_fn (the first update copies),
    statistics included (use_buffers=True)."""
    net = _net()
    ours = generator_ema(net, DECAY)
    reference = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(DECAY), use_buffers=True)
    for seed in range(4):
        _train_a_little(net, seed)
        update_ema(ours, net, DECAY)
        reference.update_parameters(net)
        for key, value in _floats(reference).items():
            torch.testing.assert_close(ours.state_dict()[key], value, rtol=1e-6, atol=1e-7, msg=key)
    assert int(ours.n_averaged) == int(reference.n_averaged) == 4
    # after the copy, three averaging updates: the average lags behind the live weights
    assert not torch.equal(ours.module[0].weight, net[0].weight)
    assert torch.equal(ours.module[1].num_batches_tracked, net[1].num_batches_tracked)  # counters are copied
    assert not any(p.requires_grad for p in ours.parameters()), "no backward and no DDP reducer reaches the EMA"


def test_a_skipped_step_leaves_the_average_alone():
    net = _net()
    ours = generator_ema(net, DECAY)
    reference = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(DECAY), use_buffers=True)
    for seed, skipped in enumerate([0.0, 1.0, 0.0, 1.0, 1.0, 0.0]):
        _train_a_little(net, seed)
        before = state(ours)
        update_ema(ours, net, DECAY, torch.tensor(skipped))
        if skipped:
            assert all(torch.equal(before[k], v) for k, v in ours.state_dict().items()), "nothing moved"
        else:
            reference.update_parameters(net)
    assert int(ours.n_averaged) == int(reference.n_averaged) == 3
    for key, value in _floats(reference).items():
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=1e-6, atol=1e-7, msg=key)


def test_a_skipped_first_step_does_not_count_as_the_copy():
    net = _net()
    ours = generator_ema(net, DECAY)
    _train_a_little(net, 0)
    update_ema(ours, net, DECAY, torch.tensor(True))
    _train_a_little(net, 1)
    update_ema(ours, net, DECAY, torch.tensor(False))
    assert int(ours.n_averaged) == 1
    assert all(torch.equal(ours.module.state_dict()[k], v) for k, v in net.state_dict().items()), "copied"


class _HostRead(AssertionError):
    pass


def test_update_never_reads_the_device_from_the_host(monkeypatch):
    """No .item(), bool(tensor), int(tensor)...: on a GPU each would make the training step wait."""
    net = _net()
    ours = generator_ema(net, DECAY)
    reference = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(DECAY), use_buffers=True)

    def refuse(*_args, **_kwargs):
        raise _HostRead("the host read a tensor")

    for name in ("__bool__", "item", "tolist", "__int__", "__float__", "__index__"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    for skipped in (0.0, 1.0, 0.0):
        update_ema(ours, net, DECAY, torch.tensor(skipped))
    with pytest.raises(_HostRead):  # the probe catches what torch's own update does
        reference.update_parameters(net)


def test_decay_must_be_between_0_and_1():
    with pytest.raises(ValueError, match=r"model\.ema_decay must be between 0 and 1"):
        tiny_model(ema_decay=1.5)


class ReferenceEMA(L.Callback):
    """Keeps torch's own EMA of the generator, updated after every training batch."""

    def on_train_start(self, trainer, pl_module):
        self.ema = AveragedModel(
            copy.deepcopy(pl_module.generator), multi_avg_fn=get_ema_multi_avg_fn(DECAY), use_buffers=True
        )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.ema.update_parameters(pl_module.generator)


def test_training_averages_the_generator_after_each_step(tmp_path, photo_root):
    model = tiny_model(ema_decay=DECAY)
    ref = ReferenceEMA()
    g0 = params(model.generator)
    tiny_trainer(tmp_path, limit_train_batches=3, callbacks=[ref]).fit(model, datamodule=tiny_data(photo_root))
    assert int(model.generator_ema.n_averaged) == 3
    for key, value in _floats(ref.ema).items():
        torch.testing.assert_close(model.generator_ema.state_dict()[key], value, rtol=1e-5, atol=1e-7, msg=key)
    assert any(not torch.equal(g0[k], v) for k, v in params(model.generator_ema.module).items())
    assert all(k.startswith(("n_averaged", "module.")) for k in model.generator_ema.state_dict())
    # only the generator is averaged
    assert set(model.generator_ema.module.state_dict()) == set(model.generator.state_dict())


def test_a_nonfinite_generator_step_does_not_move_the_average(tmp_path, photo_root):
    class NaNInBatch1(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if batch_idx == 1:
                batch["L"][0, 0, 0, 0] = float("nan")
            self.before = state(pl_module.generator_ema)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if batch_idx == 1:
                self.after = state(pl_module.generator_ema)

    probe = NaNInBatch1()
    model = tiny_model(ema_decay=DECAY)
    tiny_trainer(tmp_path, limit_train_batches=3, callbacks=[probe]).fit(model, datamodule=tiny_data(photo_root))
    assert all(torch.equal(probe.before[k], probe.after[k]) for k in probe.after)
    assert int(model.generator_ema.n_averaged) == 2 and model.nonfinite_steps == 2


def test_validation_and_sample_grids_use_the_average(tmp_path, photo_root):
    from colorgan.color import model_lab_to_rgb
    from colorgan.training.sample_grid import SampleGrid

    model = tiny_model(ema_decay=0.5)
    seen = []

    class Spy(L.Callback):
        def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
            seen.append(batch["L"].clone())

    update = model.val_metrics.update
    scored = []
    model.val_metrics.update = lambda pred, *a, **kw: (scored.append(pred.clone()), update(pred, *a, **kw))[1]
    trainer = tiny_trainer(tmp_path, limit_train_batches=3, limit_val_batches=1, callbacks=[Spy()])
    dm = tiny_data(photo_root)
    trainer.fit(model, datamodule=dm)
    model.eval()
    with torch.no_grad():
        from_ema, from_g = model.generator_ema(seen[0]), model.generator(seen[0])
    assert not torch.allclose(from_ema, from_g, atol=1e-4), "the average differs from the generator here"
    torch.testing.assert_close(scored[0], model_lab_to_rgb(seen[0], from_ema, keep_lightness=True))
    torch.testing.assert_close(model(seen[0]), from_ema)

    images = dm.sample_images(2)
    grid = SampleGrid(tmp_path / "s").render(model, images)
    ema_off = copy.deepcopy(model)
    ema_off.generator_ema = None
    assert grid.tobytes() != SampleGrid(tmp_path / "s").render(ema_off, images).tobytes()
    ema_off.generator.load_state_dict(model.generator_ema.module.state_dict())
    assert grid.tobytes() == SampleGrid(tmp_path / "s").render(ema_off, images).tobytes()


def _fit_and_save(tmp_path, photo_root, name, model, ckpt=None, **trainer_kw):
    trainer = tiny_trainer(tmp_path, limit_train_batches=2, **trainer_kw)
    trainer.fit(model, datamodule=epoch_seeded_data(photo_root), ckpt_path=ckpt)
    path = tmp_path / f"{name}.ckpt"
    trainer.save_checkpoint(path)
    return trainer, path


def test_checkpoint_outputs_use_the_average(tmp_path, photo_root):
    """read_generator (hence colorize, evaluate, export, the app) takes the average from a checkpoint that has it."""
    from colorgan.inference.colorizer import Colorizer

    model = tiny_model(ema_decay=0.5)
    _, path = _fit_and_save(tmp_path, photo_root, "ema", model, max_epochs=2)
    ckpt = read_colorgan_checkpoint(path)
    assert int(ckpt["state_dict"]["generator_ema.n_averaged"]) == 4
    weights = read_generator(path)
    assert weights.averaged
    expected = model.generator_ema.module.state_dict()
    assert weights.state_dict.keys() == expected.keys()
    assert all(torch.equal(weights.state_dict[k], expected[k]) for k in expected)
    assert any(not torch.equal(expected[k], v) for k, v in model.generator.state_dict().items())
    colorizer = Colorizer.from_checkpoint(path, device="cpu")
    assert all(torch.equal(v, expected[k]) for k, v in colorizer.generator.state_dict().items())


def test_checkpoint_without_average_gives_its_generator(tiny_ckpt):
    weights = read_generator(tiny_ckpt)
    ckpt = read_colorgan_checkpoint(tiny_ckpt)
    assert not weights.averaged
    assert all(torch.equal(v, ckpt["state_dict"]["generator." + k]) for k, v in weights.state_dict.items())


def test_resume_continues_the_average_exactly(tmp_path, photo_root):
    """Two epochs in one go, or one epoch, a checkpoint, and one more: the same average and the same count."""
    torch.manual_seed(0)
    whole = tiny_model(ema_decay=DECAY)
    torch.manual_seed(0)
    first = tiny_model(ema_decay=DECAY)
    assert all(torch.equal(a, b) for a, b in zip(state(whole).values(), state(first).values()))
    _fit_and_save(tmp_path, photo_root, "whole", whole, max_epochs=2, callbacks=[SeedEachEpoch()])
    _, path = _fit_and_save(tmp_path, photo_root, "half", first, max_epochs=2,
                            callbacks=[SeedEachEpoch(), StopAfterEpochs(1)])
    assert int(first.generator_ema.n_averaged) == 2
    resumed = tiny_model(ema_decay=DECAY)
    _fit_and_save(tmp_path, photo_root, "resumed", resumed, max_epochs=2, callbacks=[SeedEachEpoch()], ckpt=path)
    assert int(resumed.generator_ema.n_averaged) == int(whole.generator_ema.n_averaged) == 4
    for key, value in whole.generator_ema.state_dict().items():
        assert torch.equal(resumed.generator_ema.state_dict()[key], value), key


def test_switching_the_average_on_when_resuming_starts_it_from_the_checkpoint(tmp_path, photo_root, caplog):
    _, path = _fit_and_save(tmp_path, photo_root, "plain", tiny_model())
    saved = read_colorgan_checkpoint(path)["state_dict"]
    # another decay is no other architecture: resuming is allowed
    resolve_ckpt_path(path, tmp_path / "out", dict(tiny_model(ema_decay=DECAY).hparams))

    seen = {}

    class AtStart(L.Callback):
        def on_train_start(self, trainer, pl_module):
            seen.update(state(pl_module.generator_ema))

    resumed = tiny_model(ema_decay=DECAY)
    with caplog.at_level(logging.WARNING, logger="colorgan"):
        _fit_and_save(tmp_path, photo_root, "on", resumed, max_epochs=2, callbacks=[AtStart()], ckpt=path)
    assert "holds no moving average of the generator: the average starts from the checkpoint's" in caplog.text
    assert int(seen["n_averaged"]) == 1
    assert all(torch.equal(seen["module." + k[len("generator."):]], v) for k, v in saved.items()
               if k.startswith("generator."))
    assert int(resumed.generator_ema.n_averaged) == 3  # and it went on averaging


def test_switching_the_average_off_when_resuming_drops_it(tmp_path, photo_root, caplog):
    _, path = _fit_and_save(tmp_path, photo_root, "ema", tiny_model(ema_decay=DECAY))
    resumed = tiny_model()
    with caplog.at_level(logging.WARNING, logger="colorgan"):
        _fit_and_save(tmp_path, photo_root, "off", resumed, max_epochs=2, ckpt=path)
    assert "model.ema_decay=0: the checkpoint's moving average of the generator is left out" in caplog.text
    assert resumed.generator_ema is None
    assert not any(k.startswith("generator_ema.") for k in resumed.state_dict())
