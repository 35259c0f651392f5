"""Skipping training steps whose loss or gradients are NaN/inf, without waiting for the GPU.

A skipped step leaves no trace: no parameter moves, no optimizer state changes, and the BatchNorm running
statistics the batch updated are put back. The pieces, used by :class:`~colorgan.training.module.ColorGAN`:

- :func:`nonfinite`: the verdict on one loss and its gradients, a 0-dim flag on the device;
- :func:`step_unless`: an optimizer step that the flag cancels on the device (fused optimizers' ``found_inf``);
- :class:`BufferRollback`: a snapshot of a module's buffers, put back when the flag is set;
- :class:`NonFiniteCounter`: the count of skipped steps, which stops a run after too many in a row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """Too many training steps in a row had a NaN or infinite loss."""


def gradients(optimizer: Any) -> list[Tensor]:
    """The gradients ``optimizer`` would step on (parameters without one are left alone by a step)."""
    return [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]


_ONES: dict[torch.device, Tensor] = {}  # the unscale factor 1.0 that the check below takes, one per device


def nonfinite(loss: Tensor, grads: Sequence[Tensor], reduce_sum: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """1.0 (a 0-dim float32 tensor on the loss's device) when ``loss`` or any of ``grads`` is NaN/inf, else 0.0.

    Check the gradients after backward: under DDP they are already all-reduced, so every rank reaches the same
    verdict on them without talking to the others, and without a host sync. The loss needs a check of its own: a
    NaN loss can have finite gradients (L1's gradient at a NaN target is 0), and stepping on those is stepping on a
    broken batch. Each rank has its own loss: pass ``reduce_sum`` (a sum over the ranks, e.g. Lightning's
    ``strategy.reduce(t, reduce_op="sum")``) so that all ranks agree on it too.

    The loss and the gradients are checked by the kernel PyTorch's GradScaler uses
    (``_amp_foreach_non_finite_check_and_unscale_``, one launch for all of them), with an unscale factor of 1.0: it
    writes every value back multiplied by 1, which leaves it exactly as it was.

    >>> nonfinite(torch.tensor(0.5), [torch.ones(3)]).item(), nonfinite(torch.tensor(float("nan")), []).item()
    (0.0, 1.0)
    """
    found = torch.zeros(1, device=loss.device)
    one = _ONES.get(found.device)
    if one is None:
        one = _ONES[found.device] = torch.ones(1, device=found.device)
    # the loss (a float32 view of it) is checked with the gradients: multiplied by 1 too, it keeps its value
    torch._amp_foreach_non_finite_check_and_unscale_([*grads, loss.detach().float().reshape(1)], found, one)
    if reduce_sum is not None:
        found = (reduce_sum(found) > 0).float()
    return found.reshape(())


def step_unless(optimizer: Any, bad: Tensor) -> None:
    """``optimizer.step()``, unless ``bad`` (a 0-dim float tensor from :func:`nonfinite`) is 1.0.

    A skipped step changes nothing: no parameter, no Adam moment, no per-parameter step count. A fused optimizer
    (such as ``Adam(fused=True)``, colorgan's default) skips on the device through its ``found_inf`` input, so the
    caller never waits for the GPU; other optimizers fall back to reading ``bad`` on the host. ``optimizer`` may be
    Lightning's ``LightningOptimizer`` wrapper (its ``step`` runs Lightning's hooks) or a torch optimizer.
    """
    inner = getattr(optimizer, "optimizer", optimizer)
    if getattr(inner, "_step_supports_amp_scaling", False):
        inner.found_inf = bad
        try:
            optimizer.step()
        finally:
            del inner.found_inf
        return
    if bad.item():
        optimizer.zero_grad(set_to_none=True)  # parameters without a gradient are left alone by the step
    optimizer.step()


class BufferRollback:
    """Keeps a copy of a module's buffers (BatchNorm running statistics and counters) to put back after a skip.

    Neither call waits for a GPU: there :meth:`restore_if` selects with ``torch.where`` instead of asking the host. The
    buffers are found once and kept as flat views, one group per dtype, so that a step costs a handful of device
    operations and no walk through the module; a buffer replaced since (by a move to another device or dtype) is
    noticed and the buffers found again.
    """

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self._owners: list[tuple[dict[str, Any], str, Tensor]] = []  # (the owning module's _buffers, name, buffer)
        self._groups: list[tuple[list[Tensor], list[int]]] = []  # per dtype: flat views of the buffers, their sizes
        self._saved: list[Tensor] = []
        self._found = False

    def _current(self) -> bool:
        return self._found and all(buffers.get(name) is b for buffers, name, b in self._owners)

    def _find_buffers(self) -> None:
        self._owners = [
            (owner._buffers, name, b) for owner in self.module.modules() for name, b in owner._buffers.items()
            if b is not None
        ]
        self._found = True
        groups: dict[torch.dtype, list[Tensor]] = {}
        for _, _, b in self._owners:
            groups.setdefault(b.dtype, []).append(b)
        self._groups = [([b.view(-1) for b in bufs], [b.numel() for b in bufs]) for bufs in groups.values()]

    def find_again(self) -> None:
        """Look for the buffers again at the next :meth:`snapshot`: call it when the module's layers may have been
        replaced (at the start of each fit, after Lightning's set-up converted or moved them)."""
        self._found = False

    def snapshot(self) -> None:
        """Copy every buffer, one flat copy per dtype."""
        if not self._current():
            self._find_buffers()
        self._saved = [torch.cat(flat) for flat, _ in self._groups]

    def restore_if(self, bad: Tensor) -> None:
        """Put the buffers back as they were at :meth:`snapshot` when ``bad`` (a 0-dim tensor) is true or 1.0.

        On a CPU reading ``bad`` costs nothing, and a good step (the usual case) costs nothing either; on other
        devices :meth:`restore_where` decides on the device.
        """
        if bad.device.type != "cpu":
            self.restore_where(bad)
        elif bad.item():
            for (flat, sizes), saved in zip(self._groups, self._saved):
                torch._foreach_copy_(flat, saved.split(sizes))

    def restore_where(self, bad: Tensor) -> None:
        """:meth:`restore_if` without asking the host: every buffer is rewritten, with ``torch.where`` choosing."""
        bad = bad.bool()
        for (flat, sizes), saved in zip(self._groups, self._saved):
            torch._foreach_copy_(flat, torch.where(bad, saved, torch.cat(flat)).split(sizes))


class NonFiniteCounter:
    """Counts skipped steps; stops the run after ``max_in_a_row`` batches in a row had one.

    The counts live on the device. The host reads them (to warn, and to stop) every batch on a CPU and every
    ``read_every`` batches elsewhere, so that a GPU is not made to wait each step.
    """

    def __init__(self, max_in_a_row: int, read_every: int = 20) -> None:
        self.max_in_a_row = max_in_a_row
        self.read_every = read_every
        self.total = torch.zeros(())  # skipped steps so far (device)
        self.run = torch.zeros(())  # batches in a row with a skipped step (device)
        self.reported = 0  # skipped steps as last read on the host

    def load(self, total: int) -> None:
        """Continue a resumed run's count."""
        self.reported = int(total)
        self.total = torch.tensor(float(total), device=self.total.device)

    def read_total(self) -> int:
        """The number of skipped steps so far (reads the device)."""
        return int(self.total.item())

    def add(self, bad: Tensor, *, epoch: int, batch_idx: int) -> None:
        """Count this batch's skipped steps (``bad``: their number, a 0-dim device tensor).

        Raises:
            NonFiniteLossError: ``max_in_a_row`` batches in a row had a skipped step.
        """
        if self.total.device != bad.device:
            self.total = self.total.to(bad.device)
            self.run = self.run.to(bad.device)
        self.total = self.total + bad
        self.run = (self.run + 1) * (bad > 0)
        if bad.device.type != "cpu" and batch_idx % self.read_every:
            return
        total, run = int(self.total.item()), int(self.run.item())
        if total > self.reported:
            log.warning(
                "Skipped %d optimizer step(s) with a NaN/inf loss or gradients by epoch %d, batch %d (%d in total)",
                total - self.reported, epoch, batch_idx, total,
            )
            self.reported = total
        if run >= self.max_in_a_row:
            raise NonFiniteLossError(
                f"{run} batches in a row had NaN/inf losses or gradients; stopping. Try a lower learning rate "
                "(model.optimizer_g.lr / model.optimizer_d.lr), gradient clipping (model.gradient_clip_val=1.0), "
                "trainer.precision=bf16-mixed or 32-true instead of 16-mixed, a smaller model.lambda_l1, or check "
                "the photos for corrupt content. The last good checkpoint is in checkpoints/; resume from it with "
                "ckpt_path=last."
            )
