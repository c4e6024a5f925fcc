"""Benchmarks against the real broker; they print figures and assert nothing about speed (see
bench.harness)."""
