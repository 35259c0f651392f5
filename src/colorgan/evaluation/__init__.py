"""Measuring models against each other: intervals, quality tables, the points curve, sweep summaries.

- ``intervals``: the bootstrap over source photos and seeds behind every interval, and which photos form one
  source photo
- ``quality_report``: the quality table of a tested multirun (``python -m colorgan.evaluation.quality_report``)
- ``sweep_summary``: the Hydra callback that sums up a multirun (each job's result, the best job, the quality table)
- ``hint_sweep``: the points curve of a hinted model (``colorgan.evaluate`` draws it)
"""
