"""Benchmarks of the OneVice pipeline, run against a stack they start themselves."""
