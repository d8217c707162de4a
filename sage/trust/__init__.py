"""Trust and experience: what SAGE observed about each turn, and whom to trust next time."""
