"""Evaluation runs: ask a model every question of a benchmark, cache each reply on disk, score, report."""
