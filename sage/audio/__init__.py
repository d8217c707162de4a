"""Audio in and out: WAV parsing and conversion, sources, sinks, segmentation."""

SAMPLE_RATE = 16_000
"""Everything past the audio stage is 16 kHz, 16-bit signed little-endian, mono."""
SAMPLE_WIDTH = 2
