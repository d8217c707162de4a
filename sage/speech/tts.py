"""Piper text to speech: the voice is loaded once; one audio chunk per sentence."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sage.config import TtsConfig
from sage.host import onnx_cuda

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioChunk:
    """Synthesised speech for one sentence."""

    pcm: bytes
    """16-bit signed little-endian, mono, at ``sample_rate``."""
    sample_rate: int
    """Hz (the voice's native rate; 22050 for en_US-joe-medium)."""
    text: str
    """The sentence spoken."""


class PiperSpeaker:
    """Speaks text with a Piper voice, on CUDA when onnxruntime has it."""

    def __init__(self, model_path: Path, config: TtsConfig) -> None:
        from piper import PiperVoice, SynthesisConfig

        use_cuda = onnx_cuda()
        self._voice = PiperVoice.load(model_path, use_cuda=use_cuda)
        self._syn = SynthesisConfig(
            length_scale=config.length_scale,
            noise_scale=config.noise_scale,
            noise_w_scale=config.noise_w_scale,
        )
        self.sample_rate: int = self._voice.config.sample_rate
        _LOGGER.info("piper voice %s on %s", model_path.name, "cuda" if use_cuda else "cpu")

    def speak(self, text: str) -> Iterator[AudioChunk]:
        """One chunk per sentence Piper finds in ``text``."""
        for chunk in self._voice.synthesize(text, syn_config=self._syn):
            yield AudioChunk(chunk.audio_int16_bytes, chunk.sample_rate, text)
