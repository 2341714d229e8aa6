"""The spatial VLM: RGB + point-map architecture over several model families (SPEC section 6).

    from spatialforge.models import named_config, build_model, SpatialVLM
    model = build_model(named_config("small", geometry="metric_xyz"))
    model.save_pretrained("out/model"); SpatialVLM.from_pretrained("out/model")

torch is needed (the `torch` extra); HF families also need transformers (the `hf` extra).
"""

from spatialforge.models.config import ModelConfig, config_names, named_config

__all__ = ["ModelConfig", "config_names", "named_config", "build_model", "SpatialVLM"]


def __getattr__(name: str):  # torch is imported only when a model is built
    if name in {"build_model", "SpatialVLM"}:
        from spatialforge.models import vlm

        return getattr(vlm, name)
    raise AttributeError(name)
