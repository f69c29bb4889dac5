"""splitinfer.system."""
