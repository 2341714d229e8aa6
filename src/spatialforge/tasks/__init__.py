"""Spatial QA tasks: a registry of tasks (levels 0-3), their template banks and the renderer."""
