"""Training over engine output: data readers, the task-mixture sampler, LoRA, the trainer (issue 12)."""
