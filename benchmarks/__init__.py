"""Benchmarks of sksmoe: each module prints what it measured and writes benchmarks/results/."""
