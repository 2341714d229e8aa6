"""(being built) counting tasks."""
