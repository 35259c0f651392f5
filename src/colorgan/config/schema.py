"""Types of the ``data``, ``model`` and ``trainer`` configs: Hydra structured-config schemas.

The YAML files in ``conf/`` hold the values and stay the place to read the defaults; each of them starts with
``defaults: [<group>_schema, _self_]`` and so extends a dataclass below. Hydra then checks every value, from the
YAML, an experiment or the command line, against its type while it composes the config, so ``data.batch_size=abc``
stops with Hydra's message (``Value 'abc' of type 'str' could not be converted to Integer / full_key:
data.batch_size``) before anything is built or trained. Unknown keys were already refused (struct mode).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# typing's Optional/Union/Dict rather than `X | None` and dict[...]: the forms OmegaConf 2.3 understands
from typing import Any, Dict, List, Optional, Union

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class DataSchema:
    """``conf/data/*.yaml``: arguments of :class:`colorgan.data.ColorizationDataModule`."""

    _target_: str = MISSING
    root: Optional[str] = MISSING
    image_size: Optional[int] = MISSING  # null only for evaluate: the size the checkpoint was trained at
    batch_size: int = MISSING
    num_workers: int = MISSING
    val_fraction: float = MISSING
    test_fraction: float = MISSING
    split_seed: int = MISSING
    flip_p: float = MISSING
    pin_memory: bool = MISSING
    persistent_workers: bool = MISSING
    drop_last: bool = MISSING
    max_pixels: Optional[int] = MISSING
    num_sample_images: int = MISSING
    channels_last: bool = MISSING
    cache: bool = MISSING
    cache_dir: Optional[str] = MISSING
    cache_on_device: Any = MISSING  # true, false or "auto"
    compile_lab: bool = MISSING
    min_colorfulness: Optional[float] = MISSING


@dataclass
class StreamingDataSchema:
    """``conf/data/streaming.yaml``: arguments of :class:`colorgan.data.streaming.StreamingDataModule`."""

    _target_: str = MISSING
    input_dir: Optional[str] = MISSING
    cache_dir: Optional[str] = MISSING
    max_cache_size: str = MISSING
    endpoint_url: Optional[str] = MISSING
    storage_options: Dict[str, Any] = field(default_factory=dict)
    shuffle_seed: int = MISSING
    image_size: Optional[int] = MISSING
    batch_size: int = MISSING
    num_workers: int = MISSING
    flip_p: float = MISSING
    pin_memory: bool = MISSING
    drop_last: bool = MISSING
    num_sample_images: int = MISSING
    channels_last: bool = MISSING
    compile_lab: bool = MISSING


@dataclass
class GeneratorSchema:
    """``model.generator``: what every generator config has. ``conf/model/generator/<name>.yaml`` extends one of
    the schemas below; ``name`` is the option of that group and tells :func:`colorgan.nn.build_generator` which
    network to build."""

    name: str = MISSING
    in_channels: int = MISSING  # 1 (L) or 4 (L, ab hints, mask): conf/model/pix2pix.yaml derives it from model.hints


@dataclass
class UNetGeneratorSchema(GeneratorSchema):
    """``model/generator=unet``: arguments of :class:`colorgan.nn.UNetGenerator`."""

    out_channels: int = MISSING
    ngf: int = MISSING
    num_downs: int = MISSING
    norm: str = MISSING
    dropout: float = MISSING


@dataclass
class ResNetUNetGeneratorSchema(GeneratorSchema):
    """``model/generator=resnet_unet``: arguments of :class:`colorgan.nn.ResNetUNetGenerator`."""

    encoder: str = MISSING
    weights: Optional[str] = MISSING  # imagenet | null | a path
    out_channels: int = MISSING
    ngf: int = MISSING
    norm: str = MISSING
    dropout: float = MISSING


@dataclass
class EncoderUNetGeneratorSchema(GeneratorSchema):
    """``model/generator=encoder_unet``: arguments of :class:`colorgan.nn.EncoderUNetGenerator`."""

    encoder: str = MISSING  # a timm model name
    weights: Optional[str] = MISSING  # imagenet | lite0_imagenet | null | a path
    out_channels: int = MISSING
    ngf: int = MISSING
    norm: str = MISSING
    dropout: float = MISSING


@dataclass
class DiscriminatorSchema:
    """``model.discriminator``: arguments of :class:`colorgan.nn.PatchDiscriminator`."""

    in_channels: int = MISSING
    ndf: int = MISSING
    n_layers: int = MISSING
    norm: str = MISSING
    spectral_norm: bool = MISSING


@dataclass
class HintsSchema:
    """``model.hints``: arguments of :class:`colorgan.training.hints.HintSettings` (user-guided colorization)."""

    enabled: bool = MISSING
    p: float = MISSING
    patch_sizes: List[int] = MISSING
    placement: str = MISSING
    no_hints_share: float = MISSING
    gray_threshold: float = MISSING
    discriminator: bool = MISSING


@dataclass
class PerceptualSchema:
    """``model.perceptual``: arguments of :class:`colorgan.nn.PerceptualLoss`."""

    network: str = MISSING
    weights: Optional[str] = MISSING  # imagenet | null | a path


@dataclass
class ModelSchema:
    """``conf/model/*.yaml``: arguments of :class:`colorgan.training.module.ColorGAN`.

    Optimizers and schedulers are free-form ``_partial_`` configs (any ``torch.optim`` class, with its own
    arguments), so only their presence is checked here.
    """

    _target_: str = MISSING
    image_size: int = MISSING
    generator: GeneratorSchema = field(default_factory=GeneratorSchema)
    discriminator: DiscriminatorSchema = field(default_factory=DiscriminatorSchema)
    optimizer_g: Dict[str, Any] = MISSING
    optimizer_d: Dict[str, Any] = MISSING
    scheduler_g: Optional[Dict[str, Any]] = None
    scheduler_d: Optional[Dict[str, Any]] = None
    lambda_l1: float = MISSING
    lambda_gan: float = 1.0
    head: str = "regression"
    temperature: float = 0.38
    lambda_ce: float = 1.0
    lambda_perceptual: float = MISSING
    perceptual: PerceptualSchema = field(default_factory=PerceptualSchema)
    gan_mode: str = MISSING
    l1_warmup_epochs: int = MISSING
    gradient_clip_val: Optional[float] = MISSING
    skip_nonfinite: bool = MISSING
    max_nonfinite_batches: int = MISSING
    compile: bool = MISSING
    channels_last: bool = MISSING
    ema_decay: float = MISSING
    lr_decay_epochs: int = MISSING
    hints: HintsSchema = field(default_factory=HintsSchema)
    init_from: Optional[str] = None


@dataclass
class TrainerSchema:
    """``conf/trainer/*.yaml``: the arguments of :class:`lightning.pytorch.Trainer` that a config can set.

    Unlike the other schemas this one carries values: Lightning's own defaults, for the many arguments the YAML
    leaves out, so that any of them can be overridden from the command line (``trainer.limit_train_batches=10``)
    and is type-checked when it is. ``logger`` and ``callbacks`` are built by ``colorgan.train`` from their own
    config groups. Arguments that take a string or an object config (``strategy``, ``plugins``, ``profiler``, ...)
    are typed ``Any``.
    """

    _target_: str = "lightning.pytorch.Trainer"
    accelerator: str = "auto"
    strategy: Any = "auto"
    devices: Any = "auto"
    num_nodes: int = 1
    precision: Optional[str] = None
    fast_dev_run: Union[int, bool] = False
    max_epochs: Optional[int] = None
    min_epochs: Optional[int] = None
    max_steps: int = -1
    min_steps: Optional[int] = None
    max_time: Any = None
    limit_train_batches: Optional[Union[int, float]] = None
    limit_val_batches: Optional[Union[int, float]] = None
    limit_test_batches: Optional[Union[int, float]] = None
    limit_predict_batches: Optional[Union[int, float]] = None
    overfit_batches: Union[int, float] = 0.0
    val_check_interval: Any = None
    check_val_every_n_epoch: Optional[int] = 1
    num_sanity_val_steps: Optional[int] = None
    log_every_n_steps: Optional[int] = None
    enable_checkpointing: Optional[bool] = None
    enable_progress_bar: Optional[bool] = None
    enable_model_summary: Optional[bool] = None
    accumulate_grad_batches: int = 1
    gradient_clip_val: Optional[Union[int, float]] = None
    gradient_clip_algorithm: Optional[str] = None
    deterministic: Any = None
    benchmark: Optional[bool] = None
    inference_mode: bool = True
    use_distributed_sampler: bool = True
    profiler: Any = None
    detect_anomaly: bool = False
    barebones: bool = False
    plugins: Any = None
    sync_batchnorm: bool = False
    reload_dataloaders_every_n_epochs: int = 0
    default_root_dir: Optional[str] = None


SCHEMAS = {"data": DataSchema, "model": ModelSchema, "trainer": TrainerSchema}
# the options of the group conf/model/generator/, each with its own schema (a subclass of GeneratorSchema)
GENERATOR_SCHEMAS = {
    "unet": UNetGeneratorSchema,
    "resnet_unet": ResNetUNetGeneratorSchema,
    "encoder_unet": EncoderUNetGeneratorSchema,
}


def register_schemas() -> None:
    """Store each schema as ``<group>/<group>_schema`` in Hydra's ConfigStore, where the YAML files find it, and
    each generator's as ``model/generator/<name>_schema``."""
    cs = ConfigStore.instance()
    for group, node in SCHEMAS.items():
        cs.store(group=group, name=f"{group}_schema", node=node)
    for name, node in GENERATOR_SCHEMAS.items():
        cs.store(group="model/generator", name=f"{name}_schema", node=node)
    cs.store(group="data", name="streaming_schema", node=StreamingDataSchema)


register_schemas()
