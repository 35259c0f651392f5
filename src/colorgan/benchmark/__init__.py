"""Throughput benchmarks of colorgan's training step and data path (``python -m colorgan.benchmark``)."""
