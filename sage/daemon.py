"""The daemon loop: a stream of audio blocks in, one turn per utterance, replies out.

Shutdown order on SIGINT/SIGTERM: stop input, finish the turn under way (drain), close
the output, free the models.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from sage.audio import SAMPLE_RATE, SAMPLE_WIDTH
from sage.audio.segmenter import Segmenter, Utterance
from sage.audio.wakeword import WakeWordGate
from sage.pipeline import Pipeline, Turn

_LOGGER = logging.getLogger(__name__)
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH


class Daemon:
    """Feeds audio blocks through the segmenter and answers each utterance."""

    def __init__(
        self,
        pipeline: Pipeline,
        wake: WakeWordGate | None = None,
        after_turn: Callable[[], object] | None = None,
        on_turn: Callable[[Turn], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.segmenter = Segmenter(pipeline.config.segmenter)
        self._wake = wake
        self._after_turn = after_turn
        """Called after each turn; the microphone uses it to drop SAGE's own voice."""
        self._on_turn = on_turn
        self._stop = threading.Event()
        self.turns: list[Turn] = []

    def stop(self) -> None:
        """Ask the loop to end after the turn under way."""
        self._stop.set()

    def run(self, blocks: Iterator[bytes]) -> list[Turn]:
        """Process blocks until the stream ends or :meth:`stop`; returns the turns."""
        stream_s = 0.0
        for block in blocks:
            if self._stop.is_set():
                break
            stream_s += len(block) / BYTES_PER_SECOND
            if self._wake is not None and not self._wake.is_open(stream_s):
                if self._wake.feed(block, stream_s):
                    _LOGGER.info("wake word heard")
                continue
            for utterance in self.segmenter.push(block):
                self._turn(utterance)
            if self._wake is not None and self.segmenter.endpointer.in_speech:
                self._wake.extend(stream_s)
        for utterance in self.segmenter.flush():
            self._turn(utterance)
        return self.turns

    def _turn(self, utterance: Utterance) -> None:
        vad_ms = self.segmenter.vad_seconds * 1000
        self.segmenter.vad_seconds = 0.0
        try:
            turn = self.pipeline.hear(utterance, vad_ms)
        except Exception:  # one bad utterance must never stop the daemon
            _LOGGER.exception("turn failed; listening on")
            return
        self.turns.append(turn)
        if self._on_turn is not None:
            self._on_turn(turn)
        if self._wake is not None:
            self._wake.close()
        if self._after_turn is not None:
            self._after_turn()
