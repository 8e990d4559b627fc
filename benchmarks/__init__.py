"""Benchmarks of customer-r1: each compares the project's path with a baseline in one process.

Run a benchmark as a script (``python benchmarks/env_throughput.py --help``); every one prints a
Markdown table and writes its results as JSON with ``--out``. See ``benchmarks/README.md`` for the
commands, the machines and the latest figures.
"""
