"""(being built) viewpoint probing tasks."""
