"""Benchmarks and evidence runs; never part of the test run."""
