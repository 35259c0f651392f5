"""An Optuna sweeper whose workers can share one study: ``conf/hparams_search/optuna.yaml`` sets it as the sweeper.

hydra-optuna-sweeper 1.3 (optuna < 3) creates the storage's tables and the study when a worker starts. Two workers
started together against a new storage both create them, and the second dies with ``sqlite3.IntegrityError: UNIQUE
constraint failed: alembic_version.version_num``. Here the storage and the study are made once, before the sweep,
under an exclusive lock on ``<database file>.lock`` for SQLite (workers on one machine) and with retries for a
database server (PostgreSQL, MySQL: the usual storage of workers on several machines).

Each trial's job folder is named after its Optuna trial number (``<sweep folder>/<trial number>``) rather than the
worker's own job count, which starts at 0 in every worker: workers that share a sweep folder
(``hydra.sweep.dir=...``) then write into distinct folders, and a folder's name is the trial it holds.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

log = logging.getLogger(__name__)

try:  # the sweep extra: pip install "colorgan[sweep]"
    from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
except ImportError:  # Hydra imports every plugin module at start-up: without the extra there is no sweeper to offer
    OptunaSweeper = None  # type: ignore[assignment,misc]

# how often a worker tries again to create the schema on a database server while another worker creates it
SERVER_ATTEMPTS = 5


def sqlite_file(storage: str) -> Path | None:
    """The database file of an ``sqlite:///FILE`` storage URL; None for an in-memory database or another server.

    >>> sqlite_file("sqlite:////shared/colorgan-optuna.db")
    PosixPath('/shared/colorgan-optuna.db')
    >>> sqlite_file("postgresql://user@db/optuna") is None
    True
    """
    from sqlalchemy.engine.url import make_url

    url = make_url(storage)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


@contextlib.contextmanager
def storage_lock(storage: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<database file>.lock`` next to an SQLite storage (nothing for other storages).

    ``fcntl`` locks are reliable between processes of one machine; on a network file system they may not be, which
    is one reason a study shared between machines belongs in a database server.
    """
    db = sqlite_file(storage)
    if db is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: no fcntl; workers started one after another still share the study
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def prepare_shared_study(storage: str, study_name: str, directions: Sequence[str]) -> None:
    """Create the storage's tables and the study ``study_name`` unless they exist, safely while other workers do
    the same at the same moment. Afterwards every worker's ``create_study(load_if_exists=True)`` only loads."""
    import optuna
    from sqlalchemy.exc import DBAPIError

    with storage_lock(storage):
        for attempt in range(1, SERVER_ATTEMPTS + 1):
            try:
                optuna.create_study(
                    storage=storage, study_name=study_name, directions=list(directions), load_if_exists=True
                )
                return
            except DBAPIError as error:  # another worker created the same table or row a moment earlier
                if attempt == SERVER_ATTEMPTS:
                    raise
                log.info("Optuna storage %s is being set up by another worker (%s); trying again", storage, error)
                time.sleep(0.5 * attempt)


class TrialNumberedLauncher:
    """Launches each batch of trials with job numbers equal to their Optuna trial numbers.

    ``numbers`` is set to the trial numbers of the batch about to be launched; trials of one batch whose numbers
    are not consecutive (other workers took the numbers between them) are launched in consecutive runs.
    """

    def __init__(self, launcher: Any) -> None:
        self.launcher = launcher
        self.numbers: list[int] = []

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[Any]:
        numbers = self.numbers
        if len(numbers) != len(job_overrides):
            return list(self.launcher.launch(job_overrides, initial_job_idx=initial_job_idx))
        returns: list[Any] = []
        start = 0
        for end in range(1, len(numbers) + 1):
            if end == len(numbers) or numbers[end] != numbers[end - 1] + 1:
                returns.extend(self.launcher.launch(job_overrides[start:end], initial_job_idx=numbers[start]))
                start = end
        return returns

    def __getattr__(self, name: str) -> Any:
        return getattr(self.launcher, name)


if OptunaSweeper is not None:

    class SharedStudyOptunaSweeper(OptunaSweeper):
        """hydra-optuna-sweeper's ``OptunaSweeper`` for workers that share one study (see the module docstring)."""

        def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
            super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
            impl = self.sweeper
            launcher = TrialNumberedLauncher(impl.launcher)
            configure_trials = impl._configure_trials

            def configure_numbered(trials: list[Any], *args: Any, **kwargs: Any) -> Any:
                launcher.numbers = [trial.number for trial in trials]
                return configure_trials(trials, *args, **kwargs)

            impl.launcher = launcher
            impl._configure_trials = configure_numbered

        def sweep(self, arguments: list[str]) -> None:
            impl = self.sweeper
            if impl.storage:
                storage = str(impl.storage)
                if not impl.study_name:
                    raise ValueError(
                        f"hydra.sweeper.storage={storage} needs a hydra.sweeper.study_name: without one each worker "
                        "(and each rerun) starts a study of its own instead of sharing one."
                    )
                prepare_shared_study(storage, str(impl.study_name), impl._get_directions())
            return super().sweep(arguments)
