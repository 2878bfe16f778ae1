"""Parley's delivery benchmark: `python -m bench --preset idle|chat|burst` (docs/benchmarks.md)."""
