"""splitinfer.runtime."""
