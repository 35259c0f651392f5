"""Sweeps: a Hydra multirun grid, an Optuna search, the W&B sweep file, and the best-trial record."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from colorgan.config import config_dir
from colorgan.evaluation.sweep_summary import best_result, rerun_overrides
from colorgan.metrics import SELECTION_METRIC, metric_direction

from helpers.runs import TINY, run_module

REPO = Path(__file__).resolve().parents[2]
WANDB_SWEEP = REPO / "scripts" / "wandb_sweep.yaml"
OPTUNA = config_dir() / "hparams_search" / "optuna.yaml"


def _one_sweep_dir(root: Path) -> Path:
    sweeps = list((root / "logs" / "demo" / "multiruns").iterdir())
    assert len(sweeps) == 1, sweeps
    return sweeps[0]


@pytest.mark.slow
def test_multirun_grid_gives_each_job_its_own_folder_and_wandb_run_in_one_group(tmp_path: Path) -> None:
    proc = run_module(
        "colorgan.train", "-m", "+experiment=demo", *TINY, "logger=wandb", f"paths.root_dir={tmp_path}",
        "model.lambda_l1=50,100",
        cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    sweep = _one_sweep_dir(tmp_path)
    jobs = [sweep / "0", sweep / "1"]

    configs = [OmegaConf.load(job / "config.yaml") for job in jobs]
    assert [c.model.lambda_l1 for c in configs] == [50, 100]
    assert [c.paths.output_dir for c in configs] == [str(job) for job in jobs]
    for job in jobs:
        assert (job / "checkpoints" / "last.ckpt").is_file()

    # each job is its own W&B run (own id, own offline run), all in one group named after the sweep
    ids = [(job / "wandb_run_id.txt").read_text().strip() for job in jobs]
    assert len(set(ids)) == 2
    for job, run_id in zip(jobs, ids):
        assert [p.name.rsplit("-", 1)[-1] for p in (job / "wandb").glob("offline-run-*")] == [run_id]
    assert {c.logger.wandb.group for c in configs} == {f"demo-sweep-{sweep.name}"}
    assert [c.logger.wandb.name for c in configs] == ["demo-0", "demo-1"]

    results = [OmegaConf.load(job / "result.yaml") for job in jobs]
    assert [r.status for r in results] == ["COMPLETED", "COMPLETED"]
    best = OmegaConf.load(sweep / "best_trial.yaml")
    assert best.metric == f"val/{SELECTION_METRIC}" and best.direction == "minimize"
    assert best.value == min(r.value for r in results)
    assert (sweep / "best_config.yaml").read_text() == (Path(best.output_dir) / "config.yaml").read_text()


@pytest.mark.slow
def test_optuna_search_records_the_best_trial_in_a_resumable_study(tmp_path: Path) -> None:
    import optuna

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    proc = run_module(
        "colorgan.train", "-m", "+experiment=demo", *TINY, "logger=csv", f"paths.root_dir={tmp_path}",
        "+hparams_search=optuna", "hydra.sweeper.n_trials=2", f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.study_name=colorgan-test",
        cwd=tmp_path, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    sweep = _one_sweep_dir(tmp_path)
    assert sorted(p.parent.name for p in sweep.glob("*/result.yaml")) == ["0", "1"]

    # Optuna's record, and colorgan's: the same best trial, with its folder and full config
    optuna_best = OmegaConf.load(sweep / "optimization_results.yaml")
    searched = set(OmegaConf.load(OPTUNA).hydra.sweeper.params)
    assert set(optuna_best.best_params) == searched
    best = OmegaConf.load(sweep / "best_trial.yaml")
    assert best.value == pytest.approx(optuna_best.best_value)
    for name, value in optuna_best.best_params.items():
        assert f"{name}={value}" in best.overrides
    assert "hparams_search" not in best.command and "colorgan.train" in best.command
    best_config = OmegaConf.load(sweep / "best_config.yaml")
    assert best_config.model.gan_mode == optuna_best.best_params["model.gan_mode"]
    assert best_config.model.optimizer_g.lr == pytest.approx(optuna_best.best_params["model.optimizer_g.lr"])
    assert "Best parameters" in output and "Best of 2 job(s)" in output

    # the study lives in the sqlite file under its name, so a rerun continues it
    study = optuna.load_study(study_name="colorgan-test", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.best_value == pytest.approx(optuna_best.best_value)


def test_optuna_config_composes_and_its_direction_follows_the_metric(compose_cfg) -> None:
    from hydra import compose  # the compose_cfg fixture has initialised Hydra on colorgan's configs

    cfg = compose("train", overrides=["+experiment=demo", "+hparams_search=optuna"], return_hydra_config=True)
    assert cfg.hydra.sweeper._target_.endswith("OptunaSweeper")
    assert cfg.hydra.sweeper.study_name == "colorgan-demo"
    assert cfg.hydra.sweeper.direction == "minimize"
    for name in cfg.hydra.sweeper.params:
        assert OmegaConf.select(cfg, name) is not None, f"searched parameter {name} is not in the config"
    cfg = compose(
        "train", overrides=["+experiment=demo", "+hparams_search=optuna", "optimized_metric=val/psnr"],
        return_hydra_config=True,
    )
    assert cfg.hydra.sweeper.direction == "maximize"


def test_best_checkpoint_sweeps_and_optuna_all_select_by_the_colour_metric(compose_cfg) -> None:
    from hydra import compose  # the compose_cfg fixture has initialised Hydra on colorgan's configs

    selection = f"val/{SELECTION_METRIC}"
    assert SELECTION_METRIC != "l1_ab"  # L1 rewards dull, sepia colours (README: "Choosing the best checkpoint")
    cfg = compose("train", overrides=["+experiment=demo", "+hparams_search=optuna"], return_hydra_config=True)
    assert cfg.callbacks.model_checkpoint.monitor == selection and cfg.callbacks.model_checkpoint.mode == "min"
    assert cfg.optimized_metric == selection and cfg.hydra.sweeper.direction == "minimize"
    assert compose("train", overrides=["+experiment=demo"]).optimized_metric == selection
    assert OmegaConf.load(WANDB_SWEEP).metric.name == selection


def test_wandb_sweep_file_drives_the_train_entry_point_with_existing_parameters(compose_cfg, photo_root) -> None:
    sweep = OmegaConf.to_container(OmegaConf.load(WANDB_SWEEP))
    command = sweep["command"]
    assert command[command.index("-m") + 1] == "colorgan.train"
    assert "${args_no_hyphens}" in command  # W&B hands each parameter over as a Hydra override name=value
    fixed = [
        arg.replace("${envvar:COLORGAN_DATA}", str(photo_root))
        for arg in command[command.index("colorgan.train") + 1 :]
        if arg != "${args_no_hyphens}"
    ]
    assert "${" not in " ".join(fixed), f"unknown W&B macro in {fixed}"

    params = sweep["parameters"]
    assert set(params) == set(OmegaConf.load(OPTUNA).hydra.sweeper.params), "keep W&B and Optuna spaces alike"
    samples = {name: spec["values"][0] if "values" in spec else spec["min"] for name, spec in params.items()}
    cfg = compose_cfg(*fixed, *[f"{name}={value}" for name, value in samples.items()], experiment=None)
    for name, value in samples.items():
        assert OmegaConf.select(cfg, name) == value
    assert cfg.data.root == str(photo_root)
    assert sweep["metric"]["name"] == cfg.optimized_metric
    assert sweep["metric"]["goal"] == metric_direction(cfg.optimized_metric)


def test_best_result_follows_the_direction_and_skips_failed_jobs() -> None:
    results = [
        {"job": 0, "status": "COMPLETED", "value": 0.3},
        {"job": 1, "status": "FAILED", "value": None},
        {"job": 2, "status": "COMPLETED", "value": 0.1},
        {"job": 3, "status": "COMPLETED", "value": 0.7},
    ]
    assert best_result(results, "minimize")["job"] == 2
    assert best_result(results, "maximize")["job"] == 3
    assert best_result(results[1:2], "minimize") is None
    assert metric_direction("val/psnr") == "maximize" and metric_direction("val/l1_ab") == "minimize"


def test_rerun_command_of_a_trial_does_not_start_another_sweep() -> None:
    overrides = ["+experiment=demo", "+hparams_search=optuna", "model.lambda_l1=10.0"]
    assert rerun_overrides(overrides) == ["+experiment=demo", "model.lambda_l1=10.0"]


GENERATORS = sorted(p.stem for p in (config_dir() / "model" / "generator").glob("*.yaml"))


def _first_values() -> dict[str, object]:
    """One value of every parameter the W&B sweep file searches (the first choice, or the range's low end)."""
    params = OmegaConf.to_container(OmegaConf.load(WANDB_SWEEP))["parameters"]
    return {name: spec["values"][0] if "values" in spec else spec["min"] for name, spec in params.items()}


@pytest.mark.parametrize("generator", GENERATORS)
def test_every_searched_parameter_is_a_setting_of_every_generator(compose_cfg, generator) -> None:
    from hydra.utils import instantiate

    from colorgan.training.module import ColorGAN

    searched = set(OmegaConf.load(OPTUNA).hydra.sweeper.params) | set(_first_values())
    cfg = compose_cfg(f"model/generator={generator}")
    missing = [name for name in sorted(searched) if OmegaConf.select(cfg, name, default="<absent>") == "<absent>"]
    assert not missing, f"model/generator={generator} has no {missing}: a sweep of it dies on its first trial"
    # the trial's overrides compose and the model they describe builds
    cfg = compose_cfg(f"model/generator={generator}", *[f"{k}={v}" for k, v in _first_values().items()])
    assert isinstance(instantiate(cfg.model, _recursive_=False), ColorGAN)


@pytest.mark.slow
def test_optuna_search_of_the_recommended_recipe_runs_its_first_trial(tmp_path: Path, photo_root: Path) -> None:
    # the README's recommended recipe, with random encoder weights (no test downloads) and the tiny sizes
    proc = run_module(
        "colorgan.train", "-m", "+experiment=sports_lite0", f"data.root={photo_root}", *TINY,
        "model.generator.weights=null", "logger=csv", f"paths.root_dir={tmp_path}",
        "+hparams_search=optuna", "hydra.sweeper.n_trials=1",
        cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    [result] = (tmp_path / "logs" / "sports_lite0" / "multiruns").glob("*/0/result.yaml")
    assert OmegaConf.load(result).status == "COMPLETED"
