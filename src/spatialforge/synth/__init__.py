"""The synthetic world: procedural scenes, object catalogue, renderer (docs/SYNTH.md)."""
