"""splitinfer.models."""
