"""ColorGAN: the Pix2Pix colorization LightningModule (generator + discriminator, manual optimization)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from colorgan import __version__
from colorgan.checkpoints.reading import CHECKPOINT_FORMAT, CHECKPOINT_KEY
from colorgan.nn import GANLoss, PatchDiscriminator, PerceptualLoss, build_generator
from colorgan.nn.classification import DEFAULT_TEMPERATURE
from colorgan.nn.hints import generator_input
from colorgan.training.classes import class_loss, set_class_weights
from colorgan.training.ema import generator_ema, match_checkpoint, update_ema
from colorgan.training.hints import HintSettings, gan_warning, simulate_hints
from colorgan.training.init_from import init_from_checkpoint
from colorgan.training.loss_log import LossLog, lightning_writes_logs
from colorgan.training.lr_schedule import fit_schedule_to_run, linear_decay
from colorgan.training.nonfinite import (
    BufferRollback,
    NonFiniteCounter,
    gradients,
    nonfinite,
    step_unless,
)
from colorgan.training.scoring import Scoring
from colorgan.training.settings import (
    DEFAULT_ADAM,
    OptimizerSpec,
    build,
    optimizer_factories,
    plain,
    saved_factories,
    with_head,
    with_hint_channels,
    with_judged_channels,
)
from colorgan.training.stages import announce_stage

__all__ = ["D_LOSSES", "DEFAULT_ADAM", "G_LOSSES", "ColorGAN", "OptimizerSpec"]

log = logging.getLogger(__name__)

# Under DDP nothing is logged with sync_dist=True. Lightning reduces such a value lazily, when something first asks
# for the epoch's metrics, and the progress bar asks on rank 0 alone (at epoch end, before the module's own
# all-reduce): one rank in Lightning's all-reduce and the others in colorgan's is a deadlock. Every value logged is
# already the same on all ranks: the validation/test metrics (torchmetrics state), the epoch means of the training
# losses (LossLog) and the skipped-photo counts (strategy.reduce) are reduced when they are computed, in the same
# hook on every rank, and train/stage is a constant. Lightning's advice to sync them does not apply.
warnings.filterwarnings(
    "ignore",
    message=r"It is recommended to use `self\.log\('((val|test|pretrain)/[^']+|train/[^']+_epoch|train/skipped_photos"
    r"|train/stage)'",
)


# What each step logs (as train/<name>_step and train/<name>_epoch): the D step's loss and D's mean output on the
# real and the fake photos (a probability for the vanilla GAN loss), the G step's total loss and its two terms.
D_LOSSES = ("d_loss", "d_real", "d_fake")
G_LOSSES = ("g_loss", "g_gan", "g_l1")


class ColorGAN(Scoring):
    """Pix2Pix colorization: ``G(L) = ab``, judged by a PatchGAN ``D(L, ab)``.

    Each training batch runs G forward once, then

    1. a discriminator step on real ``cat(L, ab)`` vs ``cat(L, G(L).detach())`` (skipped during L1 warm-up), and
    2. a generator step on ``GAN(D(cat(L, G(L)))) + lambda_l1 * L1(G(L), ab)``, with D's parameters frozen.

    ``automatic_optimization`` is off, so Lightning's ``trainer.global_step`` counts optimizer steps: **two per
    batch** while the GAN loss is on, one per batch during the L1-only warm-up.

    Args:
        generator: ``model.generator``: ``name`` (``unet``, the default, or ``resnet_unet``) and the keyword
            arguments of that network (:func:`~colorgan.nn.build_generator`). Pretrained encoder ``weights`` are
            read when a new fit starts (:meth:`load_pretrained_weights`), not when the module is built: a resumed
            run, or a module loaded from a checkpoint, has them in its own weights and never needs the file again.
        discriminator: keyword arguments of :class:`~colorgan.nn.PatchDiscriminator` (``ndf``, ``n_layers``, ``norm``,
            ``spectral_norm``).
        optimizer_g, optimizer_d: a Hydra ``_partial_`` optimizer config (``{"_target_": "torch.optim.Adam",
            "_partial_": true, "lr": 2e-4, ...}``) or any callable ``params -> Optimizer``.
        scheduler_g, scheduler_d: optional ``_partial_`` LR scheduler configs (or callables ``optimizer ->
            scheduler``), stepped once per epoch.
        lr_decay_epochs: Pix2Pix's schedule for both networks (0: off): the learning rates stay constant, then fall
            linearly over the last ``lr_decay_epochs`` epochs of ``trainer.max_epochs``
            (:mod:`colorgan.training.lr_schedule`). Not together with ``scheduler_g``/``scheduler_d``.
        lambda_l1: weight of the L1 term (100 in Pix2Pix); with the classification head, L1 on the decoded ab.
        lambda_gan: weight of the GAN term of G's loss (D judges the decoded ab with the classification head).
        head: ``regression`` (G predicts ab) or ``classification``: G predicts a distribution over the in-gamut ab
            bins, trained with the rebalanced cross-entropy (weight ``lambda_ce``) and decoded by the annealed mean
            at ``temperature`` (:mod:`colorgan.nn.classification`, :mod:`colorgan.training.classes`).
        lambda_perceptual: weight of a VGG perceptual term on G (:class:`~colorgan.nn.PerceptualLoss`); 0 (the
            default) leaves it out and builds no VGG.
        perceptual: keyword arguments of :class:`~colorgan.nn.PerceptualLoss` (``network``, ``weights``).
        gan_mode: ``vanilla`` (BCE with logits) | ``lsgan`` | ``hinge``.
        l1_warmup_epochs: epochs of generator pretraining before the GAN switches on: L1 only, no D step, no GAN
            loss (the *pretraining stage*, ``train/stage`` 0; the GAN stage is 1). The validation scores of its last
            epoch are also logged as ``pretrain/<metric>``, and :class:`~colorgan.training.sample_grid.SampleGrid`
            writes ``pretrain_end.png`` then.
        gradient_clip_val: clip each network's gradient norm to this value (``None``: no clipping).
        skip_nonfinite: skip (and count) an optimizer step whose loss is NaN/inf instead of poisoning the weights.
        max_nonfinite_batches: stop the run after this many such steps in a row.
        image_size: the training image size, kept in the checkpoint for ``colorgan-colorize``.
        compile: ``torch.compile`` G and D (each on its own; the LightningModule stays eager).
        channels_last: keep G and D in channels-last memory format (faster convolutions on tensor cores).
        ema_decay: keep an exponential moving average of the generator with this decay (e.g. 0.999; 0: none) in
            ``generator_ema``, updated after every generator step that was not skipped. When there is one, it is
            what :meth:`forward` runs: validation, test, the sample grids, and (through the checkpoint) colorize,
            evaluate and export all use the averaged weights.
        hints: ``model.hints`` (:class:`~colorgan.training.hints.HintSettings`): with ``enabled`` the generator also
            takes a hint map (ab of a few pixels and a mask), drawn from the truth for every training batch
            (:mod:`colorgan.training.hints`); with ``discriminator`` D sees it too. Validation and test score the
            model without hints (automatic colorization), so their numbers compare with an automatic model's.
            Validation and test are :class:`~colorgan.training.scoring.Scoring`'s.
        init_from: a training checkpoint whose generator and discriminator a new run starts from (first convs
            widened with zeros where this model takes more channels, e.g. hints); read when a new fit starts
            (:meth:`load_pretrained_weights`), never on resume.
    """

    def __init__(
        self,
        generator: Mapping[str, Any] | None = None,
        discriminator: Mapping[str, Any] | None = None,
        optimizer_g: OptimizerSpec | None = None,
        optimizer_d: OptimizerSpec | None = None,
        scheduler_g: OptimizerSpec | None = None,
        scheduler_d: OptimizerSpec | None = None,
        lambda_l1: float = 100.0,
        lambda_gan: float = 1.0,
        head: str = "regression",
        temperature: float = DEFAULT_TEMPERATURE,
        lambda_ce: float = 1.0,
        lambda_perceptual: float = 0.0,
        perceptual: Mapping[str, Any] | None = None,
        gan_mode: str = "vanilla",
        l1_warmup_epochs: int = 0,
        gradient_clip_val: float | None = None,
        skip_nonfinite: bool = True,
        max_nonfinite_batches: int = 20,
        image_size: int = 256,
        compile: bool = False,
        channels_last: bool = False,
        ema_decay: float = 0.0,
        lr_decay_epochs: int = 0,
        hints: Mapping[str, Any] | None = None,
        init_from: str | None = None,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        hint_settings = HintSettings.from_config(plain(hints))
        generator = with_head(with_hint_channels(dict(plain(generator) or {}), hint_settings), head, temperature)
        discriminator = with_judged_channels(dict(plain(discriminator) or {}), hint_settings)
        perceptual = dict(plain(perceptual) or {})
        self._factories = optimizer_factories(optimizer_g, optimizer_d, scheduler_g, scheduler_d, lr_decay_epochs)
        self.save_hyperparameters(
            {
                "generator": generator,
                "discriminator": discriminator,
                **saved_factories(self._factories),
                "lambda_l1": float(lambda_l1),
                "lambda_gan": float(lambda_gan),
                "head": str(generator.get("head", "regression")),
                "temperature": float(generator.get("temperature", temperature)),
                "lambda_ce": float(lambda_ce),
                "lambda_perceptual": float(lambda_perceptual),
                "perceptual": perceptual,
                "gan_mode": str(gan_mode),
                "l1_warmup_epochs": int(l1_warmup_epochs),
                "gradient_clip_val": None if gradient_clip_val is None else float(gradient_clip_val),
                "skip_nonfinite": bool(skip_nonfinite),
                "max_nonfinite_batches": int(max_nonfinite_batches),
                "image_size": int(image_size),
                "compile": bool(compile),
                "channels_last": bool(channels_last),
                "ema_decay": float(ema_decay),
                "lr_decay_epochs": int(lr_decay_epochs),
                "hints": {**hint_settings.__dict__, "patch_sizes": list(hint_settings.patch_sizes)},
                "init_from": None if init_from is None else str(init_from),
            }
        )
        self._hints = hint_settings if hint_settings.enabled else None
        self.in_channels = int(generator.get("in_channels", 1))  # the generator's: 1 (L) or 4 (L and hints)
        self.generator = build_generator(generator, pretrained=False)  # see on_fit_start
        self._generator_weights_set = False  # True once pretrained or checkpointed weights are in the generator
        self.discriminator = PatchDiscriminator(**discriminator)
        if image_size % self.generator.divisor:
            what = "2**model.generator.num_downs" if "num_downs" in generator else "the generator's size multiple"
            raise ValueError(
                f"data.image_size={image_size} is not divisible by {what} = {self.generator.divisor}; pick a "
                f"multiple of {self.generator.divisor}" + (" or lower num_downs" if "num_downs" in generator else "")
            )
        self.generator_ema = generator_ema(self.generator, ema_decay) if ema_decay else None
        self._pretraining_announced = False
        self.gan_loss = GANLoss(gan_mode)
        # set past nn.Module's registration: the fixed VGG is no submodule, so it stays out of the checkpoint and
        # of the optimizers (on_fit_start moves it to the device)
        object.__setattr__(self, "_perceptual", PerceptualLoss(**perceptual) if lambda_perceptual > 0 else None)
        self._init_scoring()
        # each network's BatchNorm statistics as they were before the batch, put back when its own step is skipped
        self._g_buffers, self._d_buffers = BufferRollback(self.generator), BufferRollback(self.discriminator)
        self._nonfinite = NonFiniteCounter(max_nonfinite_batches)
        self._classes = self.hparams.head == "classification"
        extra = (("g_perceptual",) if self._perceptual is not None else ()) + (("g_ce",) if self._classes else ())
        self._g_loss_names = G_LOSSES + extra
        self._d_losses, self._g_losses = LossLog(D_LOSSES), LossLog(self._g_loss_names)
        self._compiled = False

    @property
    def pretrain_epochs(self) -> int:
        """Epochs of generator pretraining (L1 only) before the GAN switches on: ``model.l1_warmup_epochs``."""
        return int(self.hparams.l1_warmup_epochs)

    def stage(self, epoch: int) -> int:
        """0 in the generator pretraining (L1 only), 1 once the GAN is on."""
        return int(epoch >= self.pretrain_epochs)

    @property
    def nonfinite_steps(self) -> int:
        """Optimizer steps skipped for a NaN/inf loss or gradients so far, as last read from the device."""
        return self._nonfinite.reported

    # ---------------------------------------------------------------- set-up
    def configure_model(self) -> None:
        networks = [self.generator, self.discriminator]
        if self.generator_ema is not None:
            networks.append(self.generator_ema.module)
        if self.hparams.channels_last:
            for net in networks:
                net.to(memory_format=torch.channels_last)
        if self.hparams.compile and not self._compiled:
            # Compile the networks, not the LightningModule: the manual-optimization logic stays eager.
            for net in networks:
                net.compile()
            self._compiled = True

    def load_pretrained_weights(self) -> None:
        """Start the generator's encoder from ``model.generator.weights`` (``imagenet`` or a file): a new run's
        first step. Does nothing without such a setting, or once the generator has pretrained or checkpointed
        weights."""
        weights = self.hparams.generator.get("weights")
        init_from = self.hparams.get("init_from")
        if not self._generator_weights_set:
            if weights is not None and not init_from:
                self.generator.load_encoder_weights(weights)
                log.info("The generator's encoder starts from model.generator.weights=%s", weights)
            if init_from:
                init_from_checkpoint(init_from, self.hparams, self.generator, self.discriminator, self.generator_ema)
                if self._classes:  # the class weights are this run's photos': counted again (set_class_weights)
                    self.generator.class_weights_set.fill_(False)
        self._generator_weights_set = True

    def on_fit_start(self) -> None:
        # colorgan.train calls it before the data is prepared; this covers fits started elsewhere
        self.load_pretrained_weights()
        if self._classes:
            set_class_weights(self)
        if self._perceptual is not None:
            self._perceptual.to(self.device)

    def configure_optimizers(self) -> tuple[list[torch.optim.Optimizer], list[Any]]:
        opt_g = build(self._factories["optimizer_g"], self.generator.parameters())
        opt_d = build(self._factories["optimizer_d"], self.discriminator.parameters())
        if self.hparams.lr_decay_epochs:
            total = self.trainer.max_epochs if self._trainer is not None else None
            scheds = [linear_decay(opt, total, self.hparams.lr_decay_epochs) for opt in (opt_g, opt_d)]
        else:
            scheds = [
                s
                for s in (
                    build(self._factories["scheduler_g"], opt_g),
                    build(self._factories["scheduler_d"], opt_d),
                )
                if s is not None
            ]
        return [opt_g, opt_d], scheds

    def forward(self, L_: Tensor, hints: Tensor | None = None) -> Tensor:
        """``L`` ``(B, 1, H, W)`` in [-1, 1] -> predicted ``ab`` ``(B, 2, H, W)`` in [-1, 1].

        ``hints``: for a hinted model, the hint map ``(B, 3, H, W)`` (normalised ab, mask); None: no hints.
        Runs the generator's moving average when there is one (``model.ema_decay``), else the generator.
        """
        net = self.generator if self.generator_ema is None else self.generator_ema
        return net(generator_input(L_, hints, self.in_channels))

    # -------------------------------------------------------------- training
    def _optimize(self, opt: Any, loss: Tensor) -> Tensor:
        """Backward and step. Returns 1.0 when the step was skipped for a non-finite loss or gradients, else 0.0.

        A skipped step changes nothing (see :mod:`colorgan.training.nonfinite`); Lightning's ``global_step`` still
        counts it. The verdict stays on the device, so the training step never waits for the GPU.
        """
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        bad = None
        if self.hparams.skip_nonfinite:
            sum_ranks = partial(self.trainer.strategy.reduce, reduce_op="sum") if self.trainer.world_size > 1 else None
            bad = nonfinite(loss, gradients(opt), sum_ranks)
        if self.hparams.gradient_clip_val:
            self.clip_gradients(opt, gradient_clip_val=self.hparams.gradient_clip_val, gradient_clip_algorithm="norm")
        if bad is None or getattr(self.trainer.precision_plugin, "scaler", None) is not None:
            opt.step()  # 16-mixed: the GradScaler skips non-finite steps itself
        else:
            step_unless(opt, bad)
        return bad if bad is not None else torch.zeros((), device=self.device)

    def _d_output(self, logits: Tensor) -> Tensor:
        """What D says on average: a probability for the BCE loss, the raw score otherwise."""
        return torch.sigmoid(logits).mean() if self.gan_loss.mode == "vanilla" else logits.mean()

    def on_train_start(self) -> None:
        # Lightning's set-up may have moved the networks or replaced their BatchNorm layers (sync_batchnorm)
        self._g_buffers.find_again()
        self._d_buffers.find_again()
        if self.hparams.lr_decay_epochs:
            self._fit_schedule_to_run()
        warning = gan_warning(self._hints, self.pretrain_epochs, self.trainer.max_epochs) if self._hints else None
        if warning and self.trainer.is_global_zero:
            log.warning(warning)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        L_, ab = batch["L"], batch["ab"]
        if L_.shape[0] == 0:  # every photo of this batch was unreadable
            return None
        opt_g, opt_d = self.optimizers()
        gan_on = self.stage(self.current_epoch) == 1  # off during the generator pretraining: no D step
        guard = self.hparams.skip_nonfinite
        if guard:
            self._g_buffers.snapshot()
            if gan_on:
                self._d_buffers.snapshot()
        # hints drawn from the truth, on the device (none for an automatic model)
        hints = simulate_hints(ab, self._hints).maps if self._hints is not None else None
        g_input = generator_input(L_, hints, self.in_channels)
        # what D judges ab against: L, and the hints too when model.hints.discriminator says so
        cond = g_input if hints is not None and self._hints.discriminator else L_
        # G runs forward once: the D step sees its output detached, the G step backpropagates through it
        logits = self.generator.logits(g_input) if self._classes else None
        fake = self.generator(g_input) if logits is None else self.generator.decode(logits, ab.shape[-2:])
        d_bad, d_losses = self._discriminator_step(opt_d, cond, ab, fake) if gan_on else (None, None)
        g_bad, g_losses = self._generator_step(opt_g, L_, ab, fake, gan_on, cond, logits)
        if guard:
            # D's statistics also moved in the G step's pass through D: both are undone when D's step was skipped
            self._g_buffers.restore_if(g_bad)
            skipped = g_bad
            if d_bad is not None:
                self._d_buffers.restore_if(d_bad)
                skipped = skipped + d_bad
            self._nonfinite.add(skipped, epoch=self.current_epoch, batch_idx=self.trainer.fit_loop.epoch_loop.batch_idx)
        self._update_ema(g_bad)
        self._log_losses(d_losses, g_losses, L_.shape[0])
        return None

    def _discriminator_step(self, opt_d: Any, L_: Tensor, ab: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        """One D update: real ``cat(L, ab)`` against ``cat(L, G(L))`` with G's output detached (G is not trained).
        (``L_``: D's condition, L joined with the hint map when D sees the hints.)

        Returns 1.0 (a 0-dim device tensor) when the step was skipped as non-finite, else 0.0, and the values of
        :data:`D_LOSSES` (a ``(3,)`` float32 device tensor).
        """
        # No toggled_optimizer here: with G's output detached, D's backward cannot reach G's parameters.
        real_logits = self.discriminator(torch.cat([L_, ab], dim=1))
        fake_logits = self.discriminator(torch.cat([L_, fake.detach()], dim=1))
        d_loss = self.gan_loss.discriminator_loss(real_logits, fake_logits)
        bad = self._optimize(opt_d, d_loss)
        outputs = (self._d_output(logits.detach()).float() for logits in (real_logits, fake_logits))
        return bad, torch.stack([d_loss.detach().float(), *outputs])

    def _generator_step(
        self, opt_g: Any, L_: Tensor, ab: Tensor, fake: Tensor, gan_on: bool, cond: Tensor | None = None,
        logits: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """One G update on ``GAN(D(cat(L, fake))) + lambda_l1 * L1(fake, ab)``, D's parameters frozen (``cond``:
        D's condition when it is more than ``L_``, see :meth:`_discriminator_step`).

        Without ``gan_on`` (L1 warm-up) D is not consulted and the GAN term is 0. Returns 1.0 (a 0-dim device
        tensor) when the step was skipped as non-finite, else 0.0, and the values of :data:`G_LOSSES` (a ``(3,)``
        float32 device tensor; then ``g_perceptual`` when the perceptual loss is on, ``g_ce`` with the classification
        head: the rebalanced cross-entropy of ``logits``, weighted by ``lambda_ce``).
        """
        # D's parameters are frozen while G's loss runs through D: no gradient is computed for them (Lightning's
        # toggled_optimizer does the same for every optimizer's parameters, at several times the host cost)
        if gan_on:
            self.discriminator.requires_grad_(False)
        try:
            g_l1 = F.l1_loss(fake, ab)
            if gan_on:
                g_gan = self.gan_loss.generator_loss(
                    self.discriminator(torch.cat([L_ if cond is None else cond, fake], dim=1))
                )
            else:
                g_gan = torch.zeros((), device=fake.device)
            g_loss = self.hparams.lambda_gan * g_gan + self.hparams.lambda_l1 * g_l1
            extra = []
            if self._perceptual is not None:
                extra.append(self._perceptual(L_, fake, ab))
                g_loss = g_loss + self.hparams.lambda_perceptual * extra[-1]
            if logits is not None:
                head = self.generator
                extra.append(class_loss(logits, ab, head.bins, head.class_weights))
                g_loss = g_loss + self.hparams.lambda_ce * extra[-1]
            parts = [g_loss, g_gan, g_l1, *extra]
            bad = self._optimize(opt_g, g_loss)
        finally:
            if gan_on:
                self.discriminator.requires_grad_(True)
        return bad, torch.stack([t.detach().float() for t in parts])

    def _log_losses(self, d_losses: Tensor | None, g_losses: Tensor, n: int) -> None:
        """Add this batch's losses to the epoch means; on the steps Lightning's loggers write, log their values.

        The step values under DDP are means over all ranks (one all-reduce on those steps only), like the epoch
        means; ``train/nonfinite_skipped`` is the same on every rank.
        """
        self._g_losses.add(g_losses, n)
        if d_losses is not None:
            self._d_losses.add(d_losses, n)
        if not lightning_writes_logs(self.trainer):
            return
        names = [*(D_LOSSES if d_losses is not None else ()), *self._g_loss_names]
        values = [*([d_losses] if d_losses is not None else []), g_losses]
        if self.hparams.skip_nonfinite:
            names.append("nonfinite_skipped")
            values.append(self._nonfinite.total.reshape(1).to(g_losses))
        step = torch.cat(values)
        if self.trainer.world_size > 1:
            step = self.trainer.strategy.reduce(step, reduce_op="mean")
        self.log_dict(
            {f"train/{k}" if k == "nonfinite_skipped" else f"train/{k}_step": v for k, v in zip(names, step.unbind())},
            on_step=True, on_epoch=False, batch_size=n, sync_dist=False,
        )

    def _log_epoch_losses(self) -> None:
        """Log the epoch means of the losses (weighted by batch size, over all ranks) as ``train/<name>_epoch``."""
        sum_ranks = partial(self.trainer.strategy.reduce, reduce_op="sum") if self.trainer.world_size > 1 else None
        means = {**self._d_losses.epoch_means(self.device, sum_ranks),
                 **self._g_losses.epoch_means(self.device, sum_ranks)}
        if means:
            self.log_dict({f"train/{k}_epoch": v for k, v in means.items()}, on_step=False, on_epoch=True,
                          batch_size=1, sync_dist=False)

    def _update_ema(self, g_skipped: Tensor | None) -> None:
        """Move the generator's average towards its new weights, unless G's step was skipped (``g_skipped`` a
        nonzero device tensor); without a host sync. Under DDP every rank does the same from the same all-reduced
        weights and the same verdict, so the averaged weights agree across ranks."""
        if self.generator_ema is not None:
            update_ema(self.generator_ema, self.generator, self.hparams.ema_decay, g_skipped)

    def _fit_schedule_to_run(self) -> None:
        """A resumed run follows the schedule of its own config (:func:`~colorgan.training.lr_schedule.
        fit_schedule_to_run`)."""
        fit_schedule_to_run(
            self.lr_schedulers(), self.current_epoch, self.trainer.max_epochs, self.hparams.lr_decay_epochs
        )

    def on_train_epoch_start(self) -> None:
        announce_stage(self)

    def on_train_epoch_end(self) -> None:
        self._log_epoch_losses()
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return
        for sched in schedulers if isinstance(schedulers, list) else [schedulers]:
            sched.step()

    # ----------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CHECKPOINT_KEY] = {
            "format": CHECKPOINT_FORMAT,
            "version": __version__,
            "nonfinite_steps": self._nonfinite.read_total(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._generator_weights_set = True  # the checkpoint's weights, pretrained encoder included
        self._nonfinite.load(int(checkpoint.get(CHECKPOINT_KEY, {}).get("nonfinite_steps", 0)))
        match_checkpoint(checkpoint.get("state_dict", {}), self.generator_ema, self.hparams.ema_decay)
