"""splitinfer.sim."""
