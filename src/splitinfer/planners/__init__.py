"""splitinfer.planners."""
