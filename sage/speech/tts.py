"""Piper text to speech: the voice is loaded once; one audio chunk per sentence."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sage.config import TtsConfig
from sage.host import onnx_cuda, onnx_session_options

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
        import onnxruntime
        from piper import PiperConfig, PiperVoice, SynthesisConfig

        use_cuda = onnx_cuda()
        # As PiperVoice.load builds it, but with session options that let llama.cpp have
        # the cores back as soon as a sentence is synthesised.
        provider = ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"})
        voice_config = json.loads(Path(f"{model_path}.json").read_text(encoding="utf-8"))
        self._voice = PiperVoice(
            config=PiperConfig.from_dict(voice_config),
            session=onnxruntime.InferenceSession(
                str(model_path),
                sess_options=onnx_session_options(),
                providers=[provider] if use_cuda else ["CPUExecutionProvider"],
            ),
        )
        self._syn = SynthesisConfig(
            length_scale=config.length_scale,
            noise_scale=config.noise_scale,
            noise_w_scale=config.noise_w_scale,
        )
        self.sample_rate: int = self._voice.config.sample_rate
        _LOGGER.info("piper voice %s on %s", model_path.name, "cuda" if use_cuda else "cpu")

    def tune(self, volume: float, length_scale: float) -> None:
        """Speak at ``volume`` (0-1 of the normalised level) and ``length_scale`` from now on."""
        self._syn = dataclasses.replace(self._syn, volume=volume, length_scale=length_scale)

    def speak(self, text: str) -> Iterator[AudioChunk]:
        """One chunk per sentence Piper finds in ``text``."""
        for chunk in self._voice.synthesize(text, syn_config=self._syn):
            yield AudioChunk(chunk.audio_int16_bytes, chunk.sample_rate, text)
