"""splitinfer.profile."""
