"""splitinfer.experiments."""
