"""Imports every module that registers a model backend (base.build_model loads it on first use).

Each import registers its kinds with base.register_model; heavy libraries (torch, transformers) are imported
inside the factories, so listing the kinds stays cheap.
"""

from spatialforge.evaluate.models import baselines, hf, openai_api, spatialforge_model  # noqa: F401
