"""Benchmarks (printed figures, not tests); see bench/README.md."""
