"""Benchmarks of wooxy-bulk: sending against a lean local server, and preparing large sheets.

Run them with ``python -m benchmarks.run`` from the repository root (``--help`` for options).
"""
