"""Tier 0: the pattern matcher. Rules in TOML answer common requests without any model."""
