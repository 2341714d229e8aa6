"""Model families: the primary vision encoder, prompt layout and language model of each."""
