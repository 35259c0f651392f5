"""colorgan's Hydra plugins for sweeps on a cluster: an Optuna sweeper whose workers share one study, and submitit
launchers whose requeued jobs resume. Hydra finds plugins only in the ``hydra_plugins`` namespace package."""
