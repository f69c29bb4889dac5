"""splitinfer.report."""
