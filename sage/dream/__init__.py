"""DREAM: the nightly run over the day's most salient experiences."""
