"""Building benchmarks from held-out scenes: capture-level splits, the leakage guard, presets mirroring the
papers' benchmarks, item selection (dedup, ambiguity filter, answer balance, quotas) and the benchmark
folder."""
