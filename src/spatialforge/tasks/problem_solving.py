"""(being built) problem_solving tasks."""
