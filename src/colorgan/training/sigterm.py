"""SIGTERM (a scheduler's preemption): every rank stops after the same batch, and a rank that cannot stop still exits.

Lightning (2.5-2.6) handles SIGTERM with a signal handler that forwards the signal to the processes its launcher
started, broadcasts a flag from inside the handler, and sets ``trainer.received_sigterm``, which each rank then
acts on by itself. Under DDP both halves are fragile:

* the handler runs wherever the main thread happens to be between two Python instructions, so its broadcast is
  an extra collective on one rank at a moment of its own; and a rank that got the signal stops at the end of its
  batch while a rank that got it a moment later goes on into the next one and waits for it there;
* a process blocked in a collective (a deadlock: one rank waiting in an all-reduce the others never join) never
  returns to Python, so no Python signal handler ever runs. It ignores SIGTERM and waits until SIGKILL.

:class:`StopOnSigterm` replaces that handler with one that only records the signal. At every training (and test)
batch end and epoch end the ranks agree on it with one all-reduce (a rank that got the signal is enough; a
validation in progress is finished first), and only then
is ``trainer.received_sigterm`` set, on every rank at once: Lightning's own loop then stops all of them after the
same batch, the exception checkpoint writes ``last.ckpt`` and ``colorgan.train`` exits with status 143. The
agreement costs one all-reduce of one number per batch; Lightning 2.6 already waits for a broadcast of its own flag
at the start of every batch under DDP, so no overlap of host and device work is lost to it.

Independently, a watchdog thread wakes up on the signal itself (``signal.set_wakeup_fd``: written by the C-level
handler, even while the main thread is blocked in C++), forwards it at once to the ranks Lightning's launcher
started, and gives the process ``grace_seconds`` to stop. A process still alive then is stuck: it prints where
each of its threads is (``faulthandler``) and exits with status 143, without a checkpoint (the interval checkpoint's
``last.ckpt`` is the newest state).
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import socket
import tempfile
import threading
import time
from types import FrameType
from typing import Any

import lightning as L

log = logging.getLogger(__name__)

EXIT_STATUS = 128 + signal.SIGTERM  # what a shell reports for a process killed by SIGTERM: "did not finish"
STDERR = 2


class StopOnSigterm(L.Callback):
    """Stop every rank together on SIGTERM, and exit a stuck process ``grace_seconds`` after it.

    Args:
        grace_seconds: how long a process may take to stop after SIGTERM (finish its batch, write ``last.ckpt``,
            close the loggers) before it is taken to be stuck and exits with status 143 without saving. Give the
            job's scheduler a longer grace period than this before its SIGKILL. ``null`` turns the watchdog off.
    """

    def __init__(self, grace_seconds: float | None = 120.0) -> None:
        if grace_seconds is not None and grace_seconds <= 0:
            raise ValueError(
                f"callbacks.stop_on_sigterm.grace_seconds={grace_seconds}: give a positive number of seconds, or "
                "null to let a process stuck after SIGTERM wait for SIGKILL"
            )
        self.grace_seconds = grace_seconds
        self._received = False
        self._watch_socket: socket.socket | None = None
        self._wake_socket: socket.socket | None = None
        self._previous_wakeup_fd = -1
        self._children: list[Any] = []
        self._rank = 0

    # ------------------------------------------------------------------------------------------ lifecycle
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._rank = trainer.global_rank
        self._start_watchdog()

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._stop_unless_guarding()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._stop_unless_guarding()  # Lightning calls no teardown hook after an exception

    def _stop_unless_guarding(self) -> None:
        # after a SIGTERM the watchdog keeps guarding the way out (checkpoint, loggers, the other ranks)
        if not self._received or self.grace_seconds is None:
            self._stop_watchdog()

    # Lightning installs its handler just before the loops run (after setup and on_fit_start), and again for
    # every trainer.fit/test: replace it at the first hook of each loop.
    def on_sanity_check_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._take_over_sigterm(trainer)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._take_over_sigterm(trainer)

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._take_over_sigterm(trainer)

    # ------------------------------------------------------------------------------------ agreeing to stop
    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        self._agree(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._agree(trainer)  # a SIGTERM during the epoch's validation: stop once it is over

    def on_test_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        self._agree(trainer)

    def _agree(self, trainer: L.Trainer) -> None:
        """Tell Lightning to stop when any rank got SIGTERM: the same answer on every rank (one all-reduce)."""
        stop = self._received
        if trainer.world_size > 1:
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if stop:
            # the flag Lightning's loops check after each batch and each epoch (trainer.received_sigterm)
            trainer._signal_connector.received_sigterm = True

    # --------------------------------------------------------------------------------------- the handler
    def _take_over_sigterm(self, trainer: L.Trainer) -> None:
        launcher = getattr(trainer.strategy, "launcher", None)
        self._children = list(getattr(launcher, "procs", None) or [])
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_sigterm)  # Lightning puts its own back at teardown

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        # Only record it: no collective here (it would interleave with whatever collective the rank is in), and no
        # stop on this rank alone (the others would wait for it in the next batch). See _agree.
        if not self._received:
            log.warning(
                "[rank %d] SIGTERM: every rank stops after this batch", self._rank
            )
        self._received = True

    # -------------------------------------------------------------------------------------- the watchdog
    def _start_watchdog(self) -> None:
        if self._watch_socket is not None or threading.current_thread() is not threading.main_thread():
            return
        self._watch_socket, self._wake_socket = socket.socketpair()
        self._wake_socket.setblocking(False)  # set_wakeup_fd requires it: the C-level handler must never block
        # Written for every signal that has a Python handler: SIGTERM has one (Lightning's, then ours) while the
        # loops run; before that it has none, and SIGTERM ends the process at once, as it always does.
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._wake_socket.fileno(), warn_on_full_buffer=False)
        threading.Thread(target=self._watch, args=(self._watch_socket,), name="sigterm-watchdog",
                         daemon=True).start()

    def _stop_watchdog(self) -> None:
        if self._watch_socket is None or threading.current_thread() is not threading.main_thread():
            return
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        for sock in (self._wake_socket, self._watch_socket):
            sock.close()  # ends the watchdog thread's recv
        self._watch_socket = self._wake_socket = None

    def _watch(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(64)  # one byte per signal that reached a Python handler, written in C
            except OSError:
                return
            if not data:
                return
            if self._previous_wakeup_fd >= 0:  # whoever had the wakeup fd before still gets its bytes
                try:
                    os.write(self._previous_wakeup_fd, data)
                except OSError:
                    pass
            if signal.SIGTERM in data:
                self._forward_to_children()
                if self.grace_seconds is not None:
                    self._exit_if_still_running(self.grace_seconds)
                return

    def _forward_to_children(self) -> None:
        """What Lightning's handler does first, done here because a stuck main thread never runs a handler."""
        for proc in self._children:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGTERM)
                except OSError:
                    pass

    def _exit_if_still_running(self, grace: float) -> None:
        time.sleep(grace)
        message = (
            f"colorgan: rank {self._rank} did not stop within {grace:g} s of SIGTERM "
            "(callbacks.stop_on_sigterm.grace_seconds): it is stuck, e.g. waiting in a collective for another rank. "
            f"Exiting with status {EXIT_STATUS} without a checkpoint; the newest last.ckpt (the interval checkpoint) "
            "is where ckpt_path=last resumes. Where each thread was:\n"
        )
        # Straight to the file descriptor: the stuck main thread may hold the lock of sys.stderr or of a log handler.
        # The dump is gathered first and written in one piece, so that the ranks' dumps, which go to the same
        # stderr at the same moment, do not interleave line by line (or mid-word) into something nobody can read.
        report = message.encode()
        try:
            with tempfile.TemporaryFile() as dump:
                faulthandler.dump_traceback(file=dump, all_threads=True)
                dump.seek(0)
                report += dump.read()
        except OSError:  # no temporary folder to write to: dump straight to stderr
            os.write(STDERR, report)
            faulthandler.dump_traceback(file=STDERR, all_threads=True)
            os._exit(EXIT_STATUS)
        _write_all(STDERR, report)
        os._exit(EXIT_STATUS)


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until all of ``data`` is written (one call for what fits, which is what keeps it in one piece)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
