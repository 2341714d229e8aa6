"""(being built) perspective tasks."""
