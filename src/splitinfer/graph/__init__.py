"""splitinfer.graph."""
