"""The pieces that skip non-finite training steps: the verdict, the cancelled step, the buffer rollback, the count.

End to end (a NaN injected into real training batches) they are tested in tests/training/test_module.py and
tests/test_faults.py.
"""

from __future__ import annotations

import copy
import logging

import pytest
import torch
from torch import nn

from colorgan.training.nonfinite import (
    BufferRollback,
    NonFiniteCounter,
    NonFiniteLossError,
    gradients,
    nonfinite,
    step_unless,
)

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("loss", "grads", "expected"),
    [
        (0.5, [[1.0, 2.0], [3.0]], 0.0),
        (-3.0, [[0.0]], 0.0),  # a negative loss (hinge) is fine
        (NAN, [[1.0, 2.0], [3.0]], 1.0),  # NaN loss, finite gradients: still a broken batch
        (INF, [[1.0]], 1.0),
        (0.5, [[1.0, INF], [3.0]], 1.0),
        (0.5, [[1.0], [NAN]], 1.0),
        (0.5, [[-INF]], 1.0),
        (0.5, [], 0.0),  # no gradients yet: the loss decides
        (NAN, [], 1.0),
    ],
)
def test_verdict_flags_a_nonfinite_loss_or_gradient(loss, grads, expected):
    bad = nonfinite(torch.tensor(loss), [torch.tensor(g) for g in grads])
    assert bad.shape == () and bad.dtype == torch.float32 and bad.item() == expected


def test_verdict_counts_the_loss_of_every_rank():
    """Under DDP every rank must skip when one rank's loss is NaN, although its own loss and gradients are fine."""
    seen = []

    def other_rank_nan(flag):  # a sum over two ranks, the other one with a NaN loss
        seen.append(flag.clone())
        return flag + 1.0

    assert nonfinite(torch.tensor(0.5), [torch.ones(2)], other_rank_nan).item() == 1.0
    assert [float(f) for f in seen] == [0.0]  # this rank's own verdict went into the sum
    assert nonfinite(torch.tensor(0.5), [torch.ones(2)], lambda flag: flag * 2).item() == 0.0


def test_verdict_leaves_the_gradients_as_they_were():
    grads = [torch.tensor([1.5, -0.0, 3e38]), torch.tensor([[float("inf"), 2e-45]]), torch.tensor(NAN)]
    before = [g.clone() for g in grads]
    assert nonfinite(torch.tensor(0.5), grads).item() == 1.0
    for g, b in zip(grads, before):
        assert torch.equal(g.isnan(), b.isnan()) and torch.equal(g[~g.isnan()], b[~b.isnan()]), (g, b)
        assert torch.equal(torch.signbit(g), torch.signbit(b))


def _model_and_grads(bad_grad: bool) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    model(torch.randn(5, 3)).pow(2).mean().backward()
    if bad_grad:
        model[0].weight.grad[0, 0] = NAN
    return model


OPTIMIZERS = {
    "adam_fused": lambda p: torch.optim.Adam(p, lr=0.1, fused=True),
    "adam_foreach": lambda p: torch.optim.Adam(p, lr=0.1, foreach=True),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_cancelled_step_changes_no_parameter_and_no_optimizer_state(name):
    model = _model_and_grads(bad_grad=False)
    opt = OPTIMIZERS[name](model.parameters())
    opt.step()  # some optimizer state to keep (moments, step counts)
    model[0].weight.grad[0, 0] = NAN
    before = copy.deepcopy((model.state_dict(), opt.state_dict()))
    bad = nonfinite(torch.tensor(1.0), gradients(opt))
    assert bad.item() == 1.0
    step_unless(opt, bad)
    params, state = model.state_dict(), opt.state_dict()
    assert all(torch.equal(before[0][k], params[k]) for k in params)
    for i, s in state["state"].items():
        for k, v in s.items():
            assert torch.equal(torch.as_tensor(before[1]["state"][i][k]), torch.as_tensor(v)), (i, k)
    assert hasattr(opt, "found_inf") is False  # the flag does not outlive the call


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_good_step_steps(name):
    model = _model_and_grads(bad_grad=False)
    opt = OPTIMIZERS[name](model.parameters())
    before = copy.deepcopy(model.state_dict())
    bad = nonfinite(torch.tensor(1.0), gradients(opt))
    assert bad.item() == 0.0
    step_unless(opt, bad)
    assert all(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_fused_step_never_reads_the_verdict_on_the_host(monkeypatch):
    """On a GPU a host read waits for every kernel queued so far: the fused path must decide on the device."""
    model = _model_and_grads(bad_grad=True)
    opt = torch.optim.Adam(model.parameters(), lr=0.1, fused=True)
    bad = nonfinite(torch.tensor(1.0), gradients(opt))
    before = copy.deepcopy(model.state_dict())

    def no_host_reads(*_):
        raise AssertionError("the verdict was read on the host")

    monkeypatch.setattr(torch.Tensor, "item", no_host_reads)
    monkeypatch.setattr(torch.Tensor, "__bool__", no_host_reads)
    step_unless(opt, bad)
    monkeypatch.undo()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def _batchnorm_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.Conv2d(3, 2, 1), nn.BatchNorm2d(2)).train()


def _buffers(m: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in m.named_buffers()}


@pytest.mark.parametrize("how", ["restore_if", "restore_where"])
def test_rollback_puts_every_buffer_back_exactly(how):
    net = _batchnorm_net()
    net(torch.randn(2, 1, 8, 8))
    rollback = BufferRollback(net)
    rollback.snapshot()
    saved = _buffers(net)
    poisoned = torch.randn(2, 1, 8, 8)
    poisoned[0, 0, 0, 0] = NAN
    net(poisoned)
    assert not torch.isfinite(net[1].running_mean).all() and int(net[1].num_batches_tracked) == 2
    getattr(rollback, how)(torch.tensor(1.0))
    after = _buffers(net)
    assert after.keys() == saved.keys()
    assert all(torch.equal(saved[k], after[k]) and saved[k].dtype == after[k].dtype for k in saved)


@pytest.mark.parametrize("how", ["restore_if", "restore_where"])
def test_rollback_keeps_the_new_buffers_of_a_good_step(how):
    net = _batchnorm_net()
    rollback = BufferRollback(net)
    rollback.snapshot()
    net(torch.randn(2, 1, 8, 8))
    updated = _buffers(net)
    getattr(rollback, how)(torch.tensor(0.0))
    assert all(torch.equal(updated[k], v) for k, v in net.named_buffers())
    assert int(net[1].num_batches_tracked) == 1


def test_rollback_on_the_device_never_reads_the_verdict_on_the_host(monkeypatch):
    """What a GPU runs (restore_if picks it off the CPU): the choice is made by torch.where on the device."""
    net = _batchnorm_net()
    rollback = BufferRollback(net)
    rollback.snapshot()
    saved = _buffers(net)
    net(torch.randn(2, 1, 8, 8))

    def no_host_reads(*_):
        raise AssertionError("the verdict was read on the host")

    bad = torch.tensor(1.0)
    monkeypatch.setattr(torch.Tensor, "item", no_host_reads)
    monkeypatch.setattr(torch.Tensor, "__bool__", no_host_reads)
    rollback.restore_where(bad)
    monkeypatch.undo()
    assert all(torch.equal(saved[k], v) for k, v in net.named_buffers())


def test_rollback_follows_buffers_that_were_replaced():
    """A move to another dtype or device replaces the buffers: the next snapshot must find the new ones."""
    net = _batchnorm_net()
    rollback = BufferRollback(net)
    rollback.snapshot()
    net.double()
    rollback.snapshot()
    saved = _buffers(net)
    net(torch.randn(2, 1, 8, 8, dtype=torch.float64))
    rollback.restore_if(torch.tensor(1.0))
    assert all(torch.equal(saved[k], v) and v.dtype == saved[k].dtype for k, v in net.named_buffers())


def test_counter_warns_and_stops_after_too_many_batches_in_a_row(caplog):
    counter = NonFiniteCounter(max_in_a_row=3)
    with caplog.at_level(logging.WARNING, logger="colorgan"):
        for batch_idx, bad in enumerate([0.0, 2.0, 1.0, 0.0, 1.0, 2.0]):  # a good batch breaks the run
            counter.add(torch.tensor(bad), epoch=4, batch_idx=batch_idx)
    assert counter.reported == counter.read_total() == 6
    said = "Skipped 2 optimizer step(s) with a NaN/inf loss or gradients by epoch 4"
    assert f"{said}, batch 1 (2 in total)" in caplog.text and f"{said}, batch 5 (6 in total)" in caplog.text
    with pytest.raises(NonFiniteLossError, match=r"3 batches in a row.*model\.gradient_clip_val.*ckpt_path=last"):
        counter.add(torch.tensor(1.0), epoch=4, batch_idx=6)


def test_counter_continues_a_resumed_count():
    counter = NonFiniteCounter(max_in_a_row=2)
    counter.load(7)
    counter.add(torch.tensor(1.0), epoch=0, batch_idx=0)
    assert counter.reported == counter.read_total() == 8
    counter.add(torch.tensor(0.0), epoch=0, batch_idx=1)
    counter.add(torch.tensor(1.0), epoch=0, batch_idx=2)  # one in a row again: no stop
