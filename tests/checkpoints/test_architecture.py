"""architecture_mismatch: which settings stop a checkpoint from resuming, with defaults for settings it predates."""

from __future__ import annotations

from colorgan.checkpoints.reading import architecture_mismatch

UNET = {"name": "unet", "in_channels": 1, "out_channels": 2, "ngf": 8, "num_downs": 6, "norm": "batch",
        "dropout": 0.5}
D = {"in_channels": 3, "ndf": 8, "n_layers": 3, "norm": "batch"}


def ckpt(generator: dict, discriminator: dict = D) -> dict:
    return {"hyper_parameters": {"generator": generator, "discriminator": discriminator}}


def test_a_checkpoint_from_before_the_generator_choice_is_a_unet():
    old = {k: v for k, v in UNET.items() if k != "name"}
    assert architecture_mismatch(ckpt(old), {"generator": UNET, "discriminator": D}) == []
    assert architecture_mismatch(ckpt(old), {"generator": {**UNET, "ngf": 16}, "discriminator": D}) == [
        "model.generator.ngf: checkpoint 8, config 16"
    ]


def test_another_generator_is_named_once():
    resnet = {"name": "resnet_unet", "encoder": "resnet18", "ngf": 8}
    assert architecture_mismatch(ckpt(UNET), {"generator": resnet, "discriminator": D}) == [
        "model.generator.name: checkpoint 'unet', config 'resnet_unet'"
    ]
    other = {**resnet, "encoder": "resnet34"}
    assert architecture_mismatch(ckpt(resnet), {"generator": other, "discriminator": D}) == [
        "model.generator.encoder: checkpoint 'resnet18', config 'resnet34'"
    ]


def test_dropout_and_pretrained_weights_do_not_count():
    assert architecture_mismatch(ckpt(UNET), {"generator": {**UNET, "dropout": 0.0}, "discriminator": D}) == []
    # where a new run's encoder started: a resumed run takes its weights from the checkpoint
    resnet = {"name": "resnet_unet", "encoder": "resnet18", "ngf": 8, "weights": "imagenet"}
    assert architecture_mismatch(ckpt(resnet), {"generator": {**resnet, "weights": None}, "discriminator": D}) == []
