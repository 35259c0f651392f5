"""Measuring models against each other: intervals, quality tables, the points curve, sweep summaries.

- ``intervals``: the bootstrap over source photos and seeds behind every interval, and which photos form one
  source photo
- ``quality_report``: the quality table of a tested multirun (``python -m colorgan.evaluation.quality_report``)
- ``sweep_summary``: the Hydra callback that sums up a multirun (each job's result, the best job, the quality table)
- ``retest``: a sweep job's checkpoint tested again as its sweep tested it (for the two tables below)
- ``equal_steps``: the quality table at equal training batches (``python -m colorgan.evaluation.equal_steps``)
- ``temperature_curve``: a classification head's quality against its decoding temperature
  (``python -m colorgan.evaluation.temperature_curve``)
- ``hint_sweep``: the points curve of a hinted model (``colorgan.evaluate`` draws it)
"""
