"""The language-model tiers behind the pattern matcher."""
