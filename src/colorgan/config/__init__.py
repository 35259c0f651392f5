"""Hydra glue: where the configs are, the resolvers they use, their schemas, and the sweep summary.

Importing this package registers the OmegaConf resolvers (``resolvers``) and the structured-config schemas
(``schema``) that ``conf/`` relies on. ``sweep_summary`` is the Hydra callback of multiruns.
"""

from colorgan.config.resolvers import asset_path, config_dir, in_multirun

__all__ = ["asset_path", "config_dir", "in_multirun"]
