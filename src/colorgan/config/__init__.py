"""Hydra glue: where the configs are, the resolvers they use and their schemas.

Importing this package registers the OmegaConf resolvers (``resolvers``) and the structured-config schemas
(``schema``) that ``conf/`` relies on. The Hydra callback of multiruns is
:mod:`colorgan.evaluation.sweep_summary`.
"""

from colorgan.config.resolvers import asset_path, config_dir, in_multirun

__all__ = ["asset_path", "config_dir", "in_multirun"]
