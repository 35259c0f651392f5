"""ColorGAN training behaviour: alternating updates, step counting, precision, schedulers, checkpoints."""

from __future__ import annotations

import copy

import lightning as L
import pytest
import torch
import torch.nn.functional as F

from colorgan.training.module import ColorGAN

from helpers.tiny import TINY_D, TINY_G, params, tiny_data, tiny_model, tiny_trainer


def same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def changed(a: dict, b: dict) -> bool:
    return any(not torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("gan_mode", ["vanilla", "lsgan", "hinge"])
def test_one_step_updates_g_and_d_and_g_step_leaves_d_alone(tmp_path, photo_root, gan_mode):
    model = tiny_model(gan_mode=gan_mode)
    g0, d0 = params(model.generator), params(model.discriminator)
    snaps: dict[str, tuple[dict, dict]] = {}
    forwards = []
    original_optimize = model._optimize
    model.generator.register_forward_hook(lambda *_: forwards.append(1))

    def spy(opt, loss):
        skipped = original_optimize(opt, loss)
        is_d = opt.param_groups[0]["params"][0] is next(model.discriminator.parameters())
        snaps["discriminator" if is_d else "generator"] = (params(model.generator), params(model.discriminator))
        return skipped

    model._optimize = spy
    tiny_trainer(tmp_path).fit(model, datamodule=tiny_data(photo_root))

    g_after_d, d_after_d = snaps["discriminator"]
    g_after_g, d_after_g = snaps["generator"]
    assert changed(d0, d_after_d), "the D step must update D"
    assert same(g0, g_after_d), "the D step must not touch G"
    assert same(d_after_d, d_after_g), "the G step must leave D's weights exactly as they were"
    assert changed(g_after_d, g_after_g), "the G step must update G"
    assert len(forwards) == 1, "G runs forward once per batch"


def test_global_step_counts_two_optimizer_steps_per_batch(tmp_path, photo_root):
    trainer = tiny_trainer(tmp_path, limit_train_batches=3)
    trainer.fit(tiny_model(), datamodule=tiny_data(photo_root))
    assert trainer.global_step == 6


def test_l1_warmup_trains_g_only(tmp_path, photo_root):
    model = tiny_model(l1_warmup_epochs=1)
    d0, g0 = params(model.discriminator), params(model.generator)
    trainer = tiny_trainer(tmp_path, limit_train_batches=2)
    trainer.fit(model, datamodule=tiny_data(photo_root))
    assert same(d0, params(model.discriminator)) and changed(g0, params(model.generator))
    assert trainer.global_step == 2  # one optimizer step per batch while only G trains
    assert float(trainer.callback_metrics["train/g_gan_epoch"]) == 0.0


@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
def test_mixed_precision_trains_on_cpu_with_float32_lab(tmp_path, photo_root, precision):
    model = tiny_model()
    seen = {}
    original = model.training_step

    def spy(batch, batch_idx):
        seen["L"], seen["ab"] = batch["L"].dtype, batch["ab"].dtype
        return original(batch, batch_idx)

    model.training_step = spy
    g0 = params(model.generator)
    trainer = tiny_trainer(tmp_path, precision=precision, limit_train_batches=2)
    trainer.fit(model, datamodule=tiny_data(photo_root))
    assert seen == {"L": torch.float32, "ab": torch.float32}
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert changed(g0, params(model.generator))
    assert all(torch.isfinite(v).all() for v in trainer.callback_metrics.values())


class RecomputeLosses(L.Callback):
    """Recomputes every training loss outside the module, from the batch, copies of the networks as they were
    (D at the start of the batch for its own step, after its step for G's) and the same dropout masks, and records
    it next to what was logged for that batch."""

    def __init__(self):
        self.expected: list[dict[str, float]] = []
        self.logged: list[dict[str, float]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._g, self._d = copy.deepcopy(pl_module.generator), copy.deepcopy(pl_module.discriminator)
        self._rng = torch.get_rng_state()  # the step's first random draw is G's dropout
        self._L, self._ab = batch["L"].clone(), batch["ab"].clone()

    @torch.no_grad()
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        L_, ab, rng = self._L, self._ab, torch.get_rng_state()
        torch.set_rng_state(self._rng)
        fake = self._g(L_)
        torch.set_rng_state(rng)
        real_logits, fake_logits = self._d(torch.cat([L_, ab], 1)), self._d(torch.cat([L_, fake], 1))
        g_logits = copy.deepcopy(pl_module.discriminator)(torch.cat([L_, fake], 1))
        bce = F.binary_cross_entropy_with_logits
        expected = {
            "d_real": torch.sigmoid(real_logits).mean(),
            "d_fake": torch.sigmoid(fake_logits).mean(),
            "d_loss": 0.5 * (bce(real_logits, torch.ones_like(real_logits))
                             + bce(fake_logits, torch.zeros_like(fake_logits))),
            "g_gan": bce(g_logits, torch.ones_like(g_logits)),
            "g_l1": F.l1_loss(fake, ab),
        }
        expected["g_loss"] = expected["g_gan"] + pl_module.hparams.lambda_l1 * expected["g_l1"]
        self.expected.append({k: float(v) for k, v in expected.items()})
        self.logged.append({k: float(trainer.callback_metrics[f"train/{k}_step"]) for k in expected})


def test_logged_training_losses_are_the_networks_own(tmp_path, photo_root):
    """train/d_real is D's mean probability on the real photos of the batch, train/g_l1 G's L1 on them, and so on,
    per step and as the epoch mean."""
    rec = RecomputeLosses()
    trainer = tiny_trainer(tmp_path, limit_train_batches=2, log_every_n_steps=1, callbacks=[rec])
    trainer.fit(tiny_model(), datamodule=tiny_data(photo_root))
    assert len(rec.expected) == 2
    for expected, logged in zip(rec.expected, rec.logged):
        assert logged == pytest.approx(expected, rel=1e-5, abs=1e-6)
    for name in rec.expected[0]:
        mean = (rec.expected[0][name] + rec.expected[1][name]) / 2  # two batches of 4 photos
        assert float(trainer.callback_metrics[f"train/{name}_epoch"]) == pytest.approx(mean, rel=1e-5, abs=1e-6)


def test_losses_reach_the_logger_every_log_every_n_steps_and_once_per_epoch(tmp_path, photo_root):
    """The step values go to the loggers on the steps Lightning writes (trainer.log_every_n_steps), with the names
    Lightning's on_step/on_epoch logging gave them; the epoch means once per epoch."""
    import csv

    from lightning.pytorch.loggers import CSVLogger

    trainer = tiny_trainer(tmp_path, limit_train_batches=4, max_epochs=2, log_every_n_steps=3,
                           logger=CSVLogger(tmp_path, name="csv", version=""))
    trainer.fit(tiny_model(), datamodule=tiny_data(photo_root))
    rows = list(csv.DictReader((tmp_path / "csv" / "metrics.csv").open()))
    steps_with = {key: [int(r["step"]) for r in rows if r.get(key)] for key in rows[0]}
    for name in ("d_loss", "d_real", "d_fake", "g_loss", "g_gan", "g_l1"):
        assert steps_with[f"train/{name}_step"] == [2, 5], name  # batches 3 and 6 of 8 (steps count from 0)
        assert steps_with[f"train/{name}_epoch"] == [3, 7], name  # the last batch of each epoch
    assert steps_with["train/nonfinite_skipped"] == [2, 5]


def test_validation_logs_the_scores_of_the_pictures_it_scored(tmp_path, photo_root):
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    model = tiny_model()
    scored = []
    update = model.val_metrics.update

    def spy(pred_rgb, true_rgb, *args, **kwargs):
        scored.append((pred_rgb.clone(), true_rgb.clone()))
        return update(pred_rgb, true_rgb, *args, **kwargs)

    model.val_metrics.update = spy
    trainer = tiny_trainer(tmp_path, limit_val_batches=2, max_epochs=2)
    trainer.fit(model, datamodule=tiny_data(photo_root))
    m = trainer.callback_metrics
    for key in ("val/psnr", "val/ssim", "val/l1_ab", "val/colorfulness", "val/colorfulness_true",
                "val/colorfulness_gap"):
        assert key in m and torch.isfinite(m[key]), key
    n = int(trainer.num_val_batches[0])
    assert n >= 1 and len(scored) == 2 * n  # n batches in each of two validations; the logged scores are the last one's
    pred, true = torch.cat([p for p, _ in scored[n:]]), torch.cat([t for _, t in scored[n:]])
    assert pred.shape == true.shape and pred.shape[1] == 3
    assert float(m["val/ssim"]) == pytest.approx(float(structural_similarity_index_measure(pred, true, data_range=1.0)),
                                                 rel=1e-5)
    assert float(m["val/psnr"]) == pytest.approx(float(peak_signal_noise_ratio(pred, true, data_range=1.0)), rel=1e-5)


def test_schedulers_step_once_per_epoch(tmp_path, photo_root):
    sched = {"_target_": "torch.optim.lr_scheduler.StepLR", "_partial_": True, "step_size": 1, "gamma": 0.5}
    model = tiny_model(scheduler_g=sched, scheduler_d=sched)
    trainer = tiny_trainer(tmp_path, max_epochs=2)
    trainer.fit(model, datamodule=tiny_data(photo_root))
    opt_g, opt_d = model.optimizers()
    assert opt_g.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.25)
    assert opt_d.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.25)


def test_gradient_clipping_through_clip_gradients(tmp_path, photo_root):
    model = tiny_model(gradient_clip_val=1e-3)
    norms = []
    original = model.clip_gradients

    def spy(opt, gradient_clip_val=None, gradient_clip_algorithm=None):
        original(opt, gradient_clip_val=gradient_clip_val, gradient_clip_algorithm=gradient_clip_algorithm)
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        norms.append(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])).item())

    model.clip_gradients = spy
    tiny_trainer(tmp_path).fit(model, datamodule=tiny_data(photo_root))
    assert len(norms) == 2 and max(norms) <= 1e-3 * 1.0001


def test_checkpoint_loads_weights_only_and_restores(tmp_path, photo_root):
    model = tiny_model(gan_mode="lsgan", lambda_l1=50)
    trainer = tiny_trainer(tmp_path)
    trainer.fit(model, datamodule=tiny_data(photo_root))
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    hp = ckpt["hyper_parameters"]
    assert hp["generator"] == TINY_G and hp["gan_mode"] == "lsgan" and hp["lambda_l1"] == 50 and hp["image_size"] == 64
    assert hp["optimizer_g"]["_target_"] == "torch.optim.Adam"
    assert ckpt["colorgan"]["format"] == 1
    restored = ColorGAN.load_from_checkpoint(path, map_location="cpu", weights_only=True)
    assert same(params(model), params(restored))


def test_image_size_must_fit_the_unet_depth():
    with pytest.raises(ValueError, match=r"data\.image_size=96 is not divisible by 2\*\*model\.generator\.num_downs"):
        ColorGAN(generator={"ngf": 8, "num_downs": 6}, discriminator=TINY_D, image_size=96)


class InjectNaN(L.Callback):
    """Puts a NaN into the photos of the chosen batches and records the model state around them."""

    def __init__(self, batches):
        self.batches = set(batches)
        self.states = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx in self.batches:
            batch["L"][0, 0, 0, 0] = float("nan")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        opt_g = pl_module.optimizers()[0].optimizer
        self.states[batch_idx] = {
            "params": params(pl_module),
            "buffers": {k: v.clone() for k, v in pl_module.named_buffers()},
            "adam": [v["exp_avg_sq"].clone() for v in opt_g.state.values()],
            "steps": [float(v["step"]) for v in opt_g.state.values()],
        }


@pytest.mark.parametrize("fused", [True, False])
def test_nonfinite_step_is_skipped_without_poisoning_anything(tmp_path, photo_root, fused):
    adam = {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 2e-4, "betas": [0.5, 0.999], "fused": fused}
    model = tiny_model(optimizer_g=adam, optimizer_d=adam)
    probe = InjectNaN(batches=[1])
    trainer = tiny_trainer(tmp_path, limit_train_batches=3, log_every_n_steps=1, callbacks=[probe])
    trainer.fit(model, datamodule=tiny_data(photo_root))
    before, poisoned, after = probe.states[0], probe.states[1], probe.states[2]
    assert same(before["params"], poisoned["params"]), "no parameter moved on the NaN batch"
    assert all(torch.equal(before["buffers"][k], poisoned["buffers"][k]) for k in before["buffers"])
    assert all(torch.equal(a, b) for a, b in zip(before["adam"], poisoned["adam"]))
    assert before["steps"] == poisoned["steps"]
    assert changed(poisoned["params"], after["params"])
    assert all(torch.isfinite(v).all() for v in after["params"].values())
    assert model.nonfinite_steps == 2  # the D step and the G step of that batch
    assert trainer.global_step == 6  # skipped steps still count as optimizer steps
    assert float(trainer.callback_metrics["train/nonfinite_skipped"]) == 2


class PoisonGradients(L.Callback):
    """Makes one network's gradients NaN in one batch (every loss stays finite) and records, for every batch,
    which of each network's parameters and buffers changed across it."""

    def __init__(self, network: str, batch: int):
        self.network, self.batch = network, batch
        self.changed: dict[int, dict[str, dict[str, bool]]] = {}

    @staticmethod
    def _state(pl_module):
        return {
            net: (params(getattr(pl_module, net)), {k: v.clone() for k, v in getattr(pl_module, net).named_buffers()})
            for net in ("generator", "discriminator")
        }

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._before, self._hook = self._state(pl_module), None
        if batch_idx == self.batch:
            weight = next(getattr(pl_module, self.network).parameters())
            self._hook = weight.register_hook(lambda grad: torch.full_like(grad, float("nan")))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self._hook is not None:
            self._hook.remove()
        after = self._state(pl_module)
        self.changed[batch_idx] = {
            net: {"params": changed(self._before[net][0], after[net][0]),
                  "buffers": changed(self._before[net][1], after[net][1])}
            for net in after
        }


@pytest.mark.parametrize(("skipped", "stepped"), [("discriminator", "generator"), ("generator", "discriminator")])
def test_a_skipped_step_restores_only_its_own_networks_statistics(tmp_path, photo_root, skipped, stepped):
    """D's BatchNorm statistics go back when D's step was skipped, G's when G's was; the other network's good step
    keeps the statistics its batch gave it."""
    model = tiny_model()
    probe = PoisonGradients(skipped, batch=1)
    tiny_trainer(tmp_path, limit_train_batches=2, callbacks=[probe]).fit(model, datamodule=tiny_data(photo_root))
    assert probe.changed[0][skipped] == probe.changed[0][stepped] == {"params": True, "buffers": True}
    assert probe.changed[1][skipped] == {"params": False, "buffers": False}, "the skipped network left no trace"
    assert probe.changed[1][stepped] == {"params": True, "buffers": True}, "the good step was kept whole"
    assert model.nonfinite_steps == 1


def test_too_many_nonfinite_batches_in_a_row_stop_the_run(tmp_path, photo_root):
    from colorgan.training.nonfinite import NonFiniteLossError

    model = tiny_model(max_nonfinite_batches=2)
    trainer = tiny_trainer(tmp_path, limit_train_batches=4, callbacks=[InjectNaN(batches=[0, 1, 2, 3])])
    with pytest.raises(NonFiniteLossError, match=r"2 batches in a row.*model\.gradient_clip_val.*ckpt_path=last"):
        trainer.fit(model, datamodule=tiny_data(photo_root))


class LossRecorder(L.Callback):
    def __init__(self):
        self.losses = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        m = trainer.callback_metrics
        self.losses.append((float(m["train/d_loss_step"]), float(m["train/g_loss_step"])))


@pytest.mark.slow
def test_compiled_networks_train_like_eager(tmp_path, photo_root, monkeypatch):
    """model.compile=true compiles G and D (not the LightningModule) and gives the eager losses, step by step, for
    the real generator, dropout included. Inductor draws its own random numbers unless told to fall back to eager's
    (fallback_random): with it, compiled and eager dropout draw the same masks from the same seed."""
    monkeypatch.setattr(torch._inductor.config, "fallback_random", True)
    runs = {}
    for compile in (False, True):
        torch.manual_seed(0)
        model = ColorGAN(generator=TINY_G, discriminator=TINY_D, image_size=64, compile=compile)
        rec = LossRecorder()
        torch.manual_seed(1)
        tiny_trainer(tmp_path, limit_train_batches=3, log_every_n_steps=1, callbacks=[rec]).fit(
            model, datamodule=tiny_data(photo_root, flip_p=0.0)
        )
        runs[compile] = (rec.losses, model)
    dropout = [m for m in runs[True][1].generator.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropout and all(m.p == 0.5 for m in dropout), "the real generator trains with dropout"
    assert len(runs[True][0]) == 3
    for eager, compiled in zip(runs[False][0], runs[True][0]):
        assert eager == pytest.approx(compiled, rel=1e-4, abs=1e-5)
    assert runs[True][1].generator._compiled_call_impl is not None  # really compiled, in place (same state keys)
    assert runs[True][1].generator.state_dict().keys() == runs[False][1].generator.state_dict().keys()


def _saturate(module, inputs, output):
    """Forward hook: strongly saturated colours, many outside the sRGB gamut at their lightness, so that clipping
    RGB channels and keeping the lightness give different pictures."""
    return torch.tanh(output * 1000.0)  # the untrained generator paints almost nothing: amplify it


@torch.no_grad()
def _scores_of(model, datamodule, keep_lightness: bool, split: str = "val") -> dict[str, float]:
    """The metrics of ``split`` recomputed from scratch on the model's pictures, converted one way or the other."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    from colorgan.color import model_lab_to_rgb, rgb_to_model_lab
    from colorgan.metrics import colorfulness

    model.eval()
    preds, truths, true_abs = [], [], []
    for batch in getattr(datamodule, f"{split}_dataloader")():
        lab = datamodule.to_lab_batch(batch["image"], train=False)
        preds.append(model_lab_to_rgb(lab["L"], model(lab["L"]), keep_lightness=keep_lightness))
        truths.append(lab["rgb"])
        true_abs.append(lab["ab"])
    pred, truth, true_ab = torch.cat(preds), torch.cat(truths), torch.cat(true_abs)
    return {
        "psnr": float(peak_signal_noise_ratio(pred, truth, data_range=1.0)),
        "ssim": float(structural_similarity_index_measure(pred, truth, data_range=1.0)),
        "l1_ab": float((rgb_to_model_lab(pred)[1] - true_ab).abs().mean()),
        "colorfulness": float(colorfulness(pred).mean()),
    }


def test_validation_and_test_score_the_pictures_colorize_delivers(tmp_path, photo_root):
    """colorize keeps the photo's lightness (model_lab_to_rgb(keep_lightness=True)); the scores must be of those
    pictures, not of a channel-clipped conversion users never see."""
    model = tiny_model()
    model.generator.register_forward_hook(_saturate)
    dm = tiny_data(photo_root)
    trainer = tiny_trainer(tmp_path, limit_val_batches=None)
    validated = trainer.validate(model, datamodule=dm, verbose=False)[0]
    tested = trainer.test(model, datamodule=dm, verbose=False)[0]
    delivered, clipped = _scores_of(model, dm, keep_lightness=True), _scores_of(model, dm, keep_lightness=False)
    assert abs(delivered["psnr"] - clipped["psnr"]) > 0.05, "the hook must make the two conversions differ"
    delivered_test = _scores_of(model, dm, keep_lightness=True, split="test")  # the test split: other photos
    for name, value in delivered.items():
        assert validated[f"val/{name}"] == pytest.approx(value, rel=1e-4, abs=1e-5), name
        assert tested[f"test/{name}"] == pytest.approx(delivered_test[name], rel=1e-4, abs=1e-5), name


def test_test_step_scores_the_gray_baseline_on_the_same_photos(tmp_path, photo_root):
    from colorgan.color import rgb_to_model_lab, uint8_to_float
    from colorgan.metrics import SELECTION_METRIC, colorfulness

    dm = tiny_data(photo_root)
    tested = tiny_trainer(tmp_path).test(tiny_model(), datamodule=dm, verbose=False)[0]
    names = ("psnr", "ssim", "l1_ab", "swd_ab", SELECTION_METRIC, "colorfulness", "colorfulness_true",
             "colorfulness_gap")
    for name in names:
        assert f"test/{name}" in tested and f"test/gray/{name}" in tested, name
    truth = uint8_to_float(torch.stack([dm.test_set[i]["image"] for i in range(len(dm.test_set))]))
    _, ab = rgb_to_model_lab(truth)
    assert tested["test/gray/colorfulness"] < 0.1
    assert tested["test/gray/l1_ab"] == pytest.approx(float(ab.abs().mean()), rel=1e-4)  # |0 - ab|
    assert tested["test/gray/colorfulness_true"] == pytest.approx(float(colorfulness(truth).mean()), rel=1e-5)
    assert tested["test/gray/psnr"] != tested["test/psnr"]


class _MeanColour(torch.nn.Module):
    """A stand-in for the Inception network: each image's mean colour (torchmetrics' FID takes any feature module)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().mean(dim=(2, 3))


def test_fid_joins_the_test_metrics_when_its_weights_are_there(tmp_path, photo_root, monkeypatch):
    from torchmetrics.image.fid import FrechetInceptionDistance

    import colorgan.training.scoring as scoring

    made = []

    def fid(weights):
        made.append(weights)
        return FrechetInceptionDistance(feature=_MeanColour(), normalize=True)

    monkeypatch.setattr(scoring, "fid_unavailable", lambda weights=None: (tmp_path / "inception.pth", None))
    monkeypatch.setattr(scoring, "frechet_inception_distance", fid)
    tested = tiny_trainer(tmp_path).test(tiny_model(), datamodule=tiny_data(photo_root), verbose=False)[0]
    assert made == [tmp_path / "inception.pth"] * 2  # the model's and the gray baseline's
    assert tested["test/fid"] >= 0 and tested["test/gray/fid"] > 0
    assert tested["test/fid"] != tested["test/gray/fid"]


def test_no_fid_without_its_weights(tmp_path, photo_root, monkeypatch):
    import colorgan.training.scoring as scoring

    monkeypatch.setattr(scoring, "fid_unavailable", lambda weights=None: (None, "FID skipped: no weights"))
    tested = tiny_trainer(tmp_path).test(tiny_model(), datamodule=tiny_data(photo_root), verbose=False)[0]
    assert "test/fid" not in tested and "test/gray/fid" not in tested


@pytest.mark.parametrize("warmup", [0, 1])
def test_the_generator_step_computes_no_discriminator_gradient(tmp_path, photo_root, warmup):
    """D's parameters get a gradient in D's own step only (once per batch), never from G's loss; they are trainable
    again after each G step, and during the generator pretraining D gets none at all."""
    model = tiny_model(l1_warmup_epochs=warmup)
    computed = []
    for name, p in model.discriminator.named_parameters():
        p.register_hook(lambda grad, name=name: computed.append(name))
    batches = 2
    trainer = tiny_trainer(tmp_path, limit_train_batches=batches, limit_val_batches=0, max_epochs=1)
    trainer.fit(model, datamodule=tiny_data(photo_root))
    names = [n for n, _ in model.discriminator.named_parameters()]
    assert sorted(computed) == ([] if warmup else sorted(names * batches))
    assert all(p.requires_grad for p in model.discriminator.parameters())
