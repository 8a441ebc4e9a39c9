"""Benchmarks: `python -m bench [NAME...]` runs them and writes bench/results.json.

A benchmark is a module of this package that defines `run() -> dict` (its
named figures, JSON-serialisable) and `format_summary(figures) -> str` (a few
lines for a person). A figure `meets_target` set to False makes the run exit 1.
Modules without `run` (helpers, the bare app) are not benchmarks.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """A benchmark could not measure (a server did not start, time ran out)."""
