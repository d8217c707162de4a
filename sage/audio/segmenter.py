"""Segmenter: splits a 16 kHz s16 mono stream into utterances with webrtcvad.

The decision logic (:class:`Endpointer`) is pure: it takes one frame, whether the frame
is voiced, and the stream time, so tests feed numbers. :class:`Segmenter` adds framing
and the real VAD.

A short pause inside speech (``early_asr_ms``) is reported as a :class:`Pause` before the
hang-over decides whether the utterance has ended, so recognition can run during the
hang-over instead of after it. The utterance that closes without more speech has the
same ``speech_ended_at`` as its last pause (the key that tells a stale pause).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

import webrtcvad

from sage.audio import SAMPLE_RATE, SAMPLE_WIDTH
from sage.config import SegmenterConfig

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Utterance:
    """Speech closed by the segmenter."""

    pcm: bytes
    """16 kHz, 16-bit signed little-endian, mono, pre-roll included."""
    started_at: float
    """Stream seconds at the first frame kept (pre-roll included)."""
    speech_ended_at: float
    """Stream seconds at the end of the last voiced frame."""
    closed_at: float
    """Stream seconds when the segmenter closed it (after the hang-over or at the cap)."""
    capped: bool = False
    """True when closed by the length cap while speech went on."""

    @property
    def duration_s(self) -> float:
        """Length of the audio in seconds."""
        return len(self.pcm) / (SAMPLE_RATE * SAMPLE_WIDTH)


@dataclass(frozen=True)
class Pause:
    """A pause inside an open utterance: the speech so far, for early recognition."""

    pcm: bytes
    """The utterance's audio up to now (pre-roll included)."""
    speech_ended_at: float
    """Stream seconds at the end of the last voiced frame: the key of the utterance that
    closes if no speech follows."""


class _Mode(Enum):
    IDLE = "idle"
    SPEECH = "speech"
    DRAIN = "drain"
    """After a cap: ignore speech until the next pause."""


class Endpointer:
    """Pure utterance boundary logic over fixed-length frames."""

    def __init__(
        self, config: SegmenterConfig, on_pause: Callable[[Pause], None] | None = None
    ) -> None:
        self.config = config
        self._on_pause = on_pause
        frame_s = config.frame_ms / 1000
        self._frame_s = frame_s
        self._start_frames = max(1, round(config.start_ms / config.frame_ms))
        self._preroll = deque[tuple[bytes, bool]](
            maxlen=max(self._start_frames, round(config.preroll_ms / config.frame_ms))
        )
        self._hangover_frames = max(1, round(config.hangover_ms / config.frame_ms))
        self._pause_frames = round(config.early_asr_ms / config.frame_ms)
        self._min_voiced = round(config.min_speech_ms / config.frame_ms)
        self._max_frames = max(1, round(config.max_utterance_s / frame_s))
        self._mode = _Mode.IDLE
        self._frames: list[bytes] = []
        self._voiced = 0
        self._silence_run = 0
        self._started_at = 0.0
        self._speech_ended_at = 0.0

    @property
    def in_speech(self) -> bool:
        """True while an utterance is open."""
        return self._mode is _Mode.SPEECH

    def feed(self, frame: bytes, voiced: bool, now: float) -> Utterance | None:
        """Take one frame ending at stream time ``now``; return an utterance when one closes."""
        if self._mode is _Mode.DRAIN:
            self._silence_run = 0 if voiced else self._silence_run + 1
            if self._silence_run >= self._hangover_frames:
                self._mode = _Mode.IDLE
                self._silence_run = 0
            return None
        if self._mode is _Mode.IDLE:
            self._preroll.append((frame, voiced))
            recent = list(self._preroll)[-self._start_frames :]
            if len(recent) == self._start_frames and all(v for _, v in recent):
                self._open(now)
            return None
        self._frames.append(frame)
        if voiced:
            self._voiced += 1
            self._silence_run = 0
            self._speech_ended_at = now
        else:
            self._silence_run += 1
            if self._silence_run == self._pause_frames and self._on_pause is not None:
                self._on_pause(Pause(b"".join(self._frames), self._speech_ended_at))
        if len(self._frames) >= self._max_frames:
            return self._close(now, capped=True)
        if self._silence_run >= self._hangover_frames:
            return self._close(now, capped=False)
        return None

    def flush(self, now: float) -> Utterance | None:
        """End of stream: close an open utterance."""
        if self._mode is _Mode.SPEECH:
            return self._close(now, capped=False)
        self._mode = _Mode.IDLE
        return None

    def _open(self, now: float) -> None:
        self._mode = _Mode.SPEECH
        self._frames = [f for f, _ in self._preroll]
        self._voiced = sum(1 for _, v in self._preroll if v)
        self._silence_run = 0
        self._started_at = now - len(self._frames) * self._frame_s
        self._speech_ended_at = now
        self._preroll.clear()

    def _close(self, now: float, capped: bool) -> Utterance | None:
        pcm = b"".join(self._frames)
        voiced = self._voiced
        self._frames = []
        self._voiced = 0
        self._silence_run = 0
        if capped:
            _LOGGER.warning(
                "utterance capped at %.1f s; ignoring speech until the next pause",
                self.config.max_utterance_s,
            )
            self._mode = _Mode.DRAIN
        else:
            self._mode = _Mode.IDLE
        if voiced < self._min_voiced:
            return None
        return Utterance(pcm, self._started_at, self._speech_ended_at, now, capped)


class Segmenter:
    """Frames a PCM stream, asks webrtcvad about each frame, and yields utterances."""

    def __init__(
        self,
        config: SegmenterConfig,
        is_speech: Callable[[bytes], bool] | None = None,
        on_pause: Callable[[Pause], None] | None = None,
    ) -> None:
        self.endpointer = Endpointer(config, on_pause)
        self._frame_bytes = SAMPLE_RATE * config.frame_ms // 1000 * SAMPLE_WIDTH
        self._frame_s = config.frame_ms / 1000
        if is_speech is None:
            vad = webrtcvad.Vad(config.aggressiveness)
            is_speech = lambda frame: vad.is_speech(frame, SAMPLE_RATE)  # noqa: E731
        self._is_speech = is_speech
        self._pending = b""
        self._frames_seen = 0
        self.vad_seconds = 0.0
        """Wall time spent inside the VAD, for the timing report."""

    @property
    def stream_time(self) -> float:
        """Seconds of audio consumed so far."""
        return self._frames_seen * self._frame_s

    def push(self, pcm: bytes) -> Iterator[Utterance]:
        """Feed any amount of PCM; yields every utterance it closes."""
        data = self._pending + pcm
        usable = len(data) - len(data) % self._frame_bytes
        self._pending = data[usable:]
        for offset in range(0, usable, self._frame_bytes):
            frame = data[offset : offset + self._frame_bytes]
            t0 = time.perf_counter()
            voiced = self._is_speech(frame)
            self.vad_seconds += time.perf_counter() - t0
            self._frames_seen += 1
            utterance = self.endpointer.feed(frame, voiced, self.stream_time)
            if utterance is not None:
                yield utterance

    def flush(self) -> Iterator[Utterance]:
        """End of stream: yield the utterance still open, if any."""
        utterance = self.endpointer.flush(self.stream_time)
        if utterance is not None:
            yield utterance
