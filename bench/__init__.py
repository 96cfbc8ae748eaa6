"""Benchmarks (`make bench`): never part of `make test`; they print figures, not verdicts."""
