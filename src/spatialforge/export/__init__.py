"""Training-ready exports of generated QA: LLaVA, chat, SPAR JSONL, Parquet (HF datasets), WebDataset."""
