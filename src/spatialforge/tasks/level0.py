"""(being built) level0 tasks."""
