"""Model backends the evaluation runner can ask: OpenAI-compatible APIs, local HF transformers VLMs,
reference baselines (chance, frequency, blind text-only prior). See base.py for the interface."""
