"""Benchmarks and evaluation scripts (run with `python -m bench.<name>`)."""
