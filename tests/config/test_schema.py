"""The structured-config schemas (colorgan.config.schema) agree with the YAML files and with what they configure."""

from __future__ import annotations

import dataclasses
import inspect

import lightning as L
import pytest
from omegaconf import OmegaConf

from colorgan.config import config_dir
from colorgan.config.schema import (
    GENERATOR_SCHEMAS,
    DataSchema,
    DiscriminatorSchema,
    EncoderUNetGeneratorSchema,
    ModelSchema,
    PerceptualSchema,
    ResNetUNetGeneratorSchema,
    TrainerSchema,
    UNetGeneratorSchema,
)
from colorgan.data import ColorizationDataModule
from colorgan.nn import (
    GENERATORS,
    EncoderUNetGenerator,
    PatchDiscriminator,
    PerceptualLoss,
    ResNetUNetGenerator,
    UNetGenerator,
)
from colorgan.training.module import ColorGAN

EXPERIMENTS = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))
TRAINERS = sorted(p.stem for p in (config_dir() / "trainer").glob("*.yaml"))
DEBUGS = sorted(p.stem for p in (config_dir() / "debug").glob("*.yaml"))


def fields(schema: type) -> dict[str, dataclasses.Field]:
    # `name` picks the generator (colorgan.nn.build_generator) rather than being one of its arguments
    return {f.name: f for f in dataclasses.fields(schema) if f.name not in ("_target_", "name")}


def parameters(target: type) -> dict[str, inspect.Parameter]:
    return {n: p for n, p in inspect.signature(target.__init__).parameters.items() if n != "self"}


@pytest.mark.parametrize(
    "schema, target",
    [
        (DataSchema, ColorizationDataModule),
        (ModelSchema, ColorGAN),
        (UNetGeneratorSchema, UNetGenerator),
        (ResNetUNetGeneratorSchema, ResNetUNetGenerator),
        (EncoderUNetGeneratorSchema, EncoderUNetGenerator),
        (PerceptualSchema, PerceptualLoss),
        (DiscriminatorSchema, PatchDiscriminator),
        (TrainerSchema, L.Trainer),
    ],
)
def test_schema_fields_are_arguments_of_what_they_configure(schema, target):
    assert set(fields(schema)) <= set(parameters(target))


def test_trainer_schema_defaults_are_lightnings():
    params = parameters(L.Trainer)
    for name, field in fields(TrainerSchema).items():
        assert field.default == params[name].default, name


def test_every_generator_option_has_a_schema_and_a_network():
    options = sorted(p.stem for p in (config_dir() / "model" / "generator").glob("*.yaml"))
    assert options == sorted(GENERATOR_SCHEMAS) == sorted(GENERATORS)


@pytest.mark.parametrize("generator", sorted(GENERATORS))
def test_each_generator_composes_typed_and_names_itself(compose_cfg, generator):
    cfg = compose_cfg(f"model/generator={generator}", "model.generator.ngf=16", experiment=None)
    assert cfg.model.generator.name == generator and cfg.model.generator.ngf == 16
    assert isinstance(OmegaConf.to_object(cfg.model.generator), GENERATOR_SCHEMAS[generator])
    with pytest.raises(Exception, match="model.generator.ngf"):  # still type-checked after the switch
        compose_cfg(f"model/generator={generator}", "model.generator.ngf=wide", experiment=None)


def test_a_setting_of_the_other_generator_is_refused(compose_cfg):
    with pytest.raises(Exception, match="num_downs"):
        compose_cfg("model/generator=resnet_unet", "model.generator.num_downs=5", experiment=None)
    with pytest.raises(Exception, match="encoder"):
        compose_cfg("model.generator.encoder=resnet18", experiment=None)  # the default generator is the U-Net


@pytest.mark.parametrize("trainer", TRAINERS)
@pytest.mark.parametrize("experiment", [None, *EXPERIMENTS])
def test_every_experiment_and_trainer_composes_under_the_schemas(compose_cfg, experiment, trainer):
    cfg = compose_cfg(f"trainer={trainer}", experiment=experiment, tiny=False)
    assert cfg.trainer.accelerator and cfg.data.batch_size > 0 and cfg.model.lambda_l1 >= 0


@pytest.mark.parametrize("debug", DEBUGS)
def test_every_debug_config_composes_under_the_schemas(compose_cfg, debug):
    assert compose_cfg(f"+debug={debug}", tiny=False).trainer


def test_the_yaml_files_hold_the_values(compose_cfg):
    cfg = compose_cfg(experiment=None, tiny=False)
    assert cfg.data.batch_size == 12 and cfg.data.root is None  # conf/data/folder.yaml
    assert cfg.model.generator.ngf == 64 and cfg.model.lambda_l1 == 100.0  # conf/model/pix2pix.yaml
    assert cfg.trainer.max_epochs == 100  # conf/trainer/default.yaml
    assert cfg.trainer.limit_train_batches is None  # not in the YAML: Lightning's default


def test_command_line_values_are_converted_to_the_declared_types(compose_cfg):
    cfg = compose_cfg("trainer.limit_train_batches=5", "trainer.limit_val_batches=0.5", "data.val_fraction=0",
                      "model.gradient_clip_val=1", experiment=None)
    assert isinstance(cfg.trainer.limit_train_batches, int)  # a batch count stays a count ...
    assert isinstance(cfg.trainer.limit_val_batches, float)  # ... and a fraction a fraction
    assert isinstance(cfg.data.val_fraction, float) and isinstance(cfg.model.gradient_clip_val, float)
