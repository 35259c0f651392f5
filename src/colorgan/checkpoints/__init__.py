"""Checkpoints: reading them safely, writing them atomically, and resuming from them.

- ``reading``: ``torch.load(weights_only=True)`` with errors that name the file; the generator of a checkpoint or
  of a ``weights`` export
- ``writing``: atomic saves (a temporary file beside the target, fsync, rename) for Lightning and for exports
- ``interval``: the callback that writes ``last.ckpt`` every epoch and every few minutes inside one
- ``batches``: the callback that writes ``batches-NNNNNN.ckpt`` every N training batches (comparisons at equal steps)
- ``crash``: the callback that writes ``last.ckpt`` when a run dies of an exception
- ``resume``: ``ckpt_path`` (a file or ``last``) turned into the checkpoint to resume from, loudly
"""
