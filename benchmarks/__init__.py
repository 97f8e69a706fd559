"""The benchmark suite behind `make bench`; see the README's Benchmarks section."""
