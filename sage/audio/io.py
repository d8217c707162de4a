"""Where audio comes from (WAV file, raw PCM on stdin, microphone) and goes (WAV, speaker)."""

from __future__ import annotations

import logging
import os
import queue
import select
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np
import soxr

from sage.audio import SAMPLE_RATE, SAMPLE_WIDTH
from sage.audio.wav import read_wav, wav_bytes
from sage.errors import AudioDeviceError
from sage.fsutil import atomic_write_bytes
from sage.speech.tts import AudioChunk

_LOGGER = logging.getLogger(__name__)

BLOCK_BYTES = SAMPLE_RATE * SAMPLE_WIDTH // 10
"""Sources hand out 100 ms blocks."""
MIC_QUEUE_BLOCKS = 100
"""10 s of capture may queue while the pipeline is busy; beyond that the oldest is dropped."""


def wav_source(path: Path) -> Iterator[bytes]:
    """A WAV file of any common format, as 16 kHz mono s16 blocks.

    The file is read and checked now (AudioFormatError), before any model loads.
    """
    pcm = read_wav(path)
    return (pcm[offset : offset + BLOCK_BYTES] for offset in range(0, len(pcm), BLOCK_BYTES))


class RawSource:
    """Raw 16 kHz mono s16le PCM from a pipe (stdin by default), until its end or
    :meth:`stop`: reads wait at most 0.2 s, so a signal ends an idle pipe promptly."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._fd = (stream or sys.stdin.buffer).fileno()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def blocks(self) -> Iterator[bytes]:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.2)
            if not ready:
                continue
            data = os.read(self._fd, BLOCK_BYTES - len(pending))
            if not data:
                break
            pending += data
            if len(pending) == BLOCK_BYTES:
                yield pending
                pending = b""
        if pending:
            yield pending


class Microphone:
    """Capture through sounddevice, resampled to 16 kHz when the device cannot do it."""

    def __init__(self, device: str | int | None = None) -> None:
        import sounddevice as sd

        self._queue: queue.Queue[bytes] = queue.Queue(MIC_QUEUE_BLOCKS)
        self._stop = threading.Event()
        self.dropped_blocks = 0
        try:
            info = sd.query_devices(device, "input")
        except (ValueError, sd.PortAudioError) as exc:
            raise AudioDeviceError(
                f"no microphone ({exc}); use --input FILE.wav, or - for raw PCM on stdin"
            ) from None
        rate = SAMPLE_RATE
        try:
            sd.check_input_settings(device, channels=1, dtype="int16", samplerate=rate)
        except sd.PortAudioError:
            rate = int(info["default_samplerate"])
        self._resampler = (
            soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="int16")
            if rate != SAMPLE_RATE
            else None
        )
        self._stream = sd.RawInputStream(
            device=device,
            samplerate=rate,
            channels=1,
            dtype="int16",
            blocksize=rate // 10,
            callback=self._on_audio,
        )
        _LOGGER.info("microphone %s at %d Hz", info["name"], rate)

    def _on_audio(self, data: bytes, frames: int, time_info: object, status: object) -> None:
        block = bytes(data)
        if self._resampler is not None:
            samples = np.frombuffer(block, dtype=np.int16)
            block = self._resampler.resample_chunk(samples).tobytes()
        try:
            self._queue.put_nowait(block)
        except queue.Full:  # drop policy: the oldest block goes, the newest stays
            self.dropped_blocks += 1
            self._queue.get_nowait()
            self._queue.put_nowait(block)

    def start(self) -> None:
        """Begin capturing; what is heard before :meth:`blocks` is read waits in the queue."""
        if not self._stream.active:
            self._stream.start()

    def blocks(self) -> Iterator[bytes]:
        """16 kHz mono s16 blocks until :meth:`stop`."""
        self.start()
        try:
            while not self._stop.is_set():
                try:
                    yield self._queue.get(timeout=0.1)
                except queue.Empty:
                    continue
        finally:
            self._stream.stop()
            self._stream.close()

    def drain(self) -> int:
        """Drop what was captured so far (SAGE's own voice, while it spoke); returns blocks."""
        dropped = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return dropped
            dropped += 1

    def stop(self) -> None:
        """Stop capture; :meth:`blocks` returns."""
        self._stop.set()


class Sink(Protocol):
    """Where reply audio goes."""

    def write(self, chunk: AudioChunk) -> None:
        """Play or store one sentence of audio."""
        ...

    def close(self) -> None:
        """Finish output."""
        ...


class NullSink:
    """Discards audio (``--output none``)."""

    def write(self, chunk: AudioChunk) -> None:
        """Drop the chunk."""

    def close(self) -> None:
        """Nothing to finish."""


class WavSink:
    """Collects every reply into one WAV file, written atomically on close."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pcm: list[bytes] = []
        self._rate: int | None = None

    def write(self, chunk: AudioChunk) -> None:
        """Append a chunk (resampled if a later chunk has another rate)."""
        if self._rate is None:
            self._rate = chunk.sample_rate
        pcm = chunk.pcm
        if chunk.sample_rate != self._rate:
            samples = np.frombuffer(pcm, dtype=np.int16)
            pcm = soxr.resample(samples, chunk.sample_rate, self._rate).tobytes()
        self._pcm.append(pcm)

    def close(self) -> None:
        """Write the file (an empty WAV when nothing was said)."""
        atomic_write_bytes(self.path, wav_bytes(b"".join(self._pcm), self._rate or SAMPLE_RATE))


class SpeakerSink:
    """Plays through sounddevice, one blocking write per sentence."""

    def __init__(self, device: str | int | None = None) -> None:
        import sounddevice as sd

        self._sd = sd
        self._device = device
        self._stream: sd.RawOutputStream | None = None
        try:
            sd.query_devices(device, "output")
        except (ValueError, sd.PortAudioError) as exc:
            raise AudioDeviceError(
                f"no speaker ({exc}); use --output FILE.wav or --output none"
            ) from None

    def write(self, chunk: AudioChunk) -> None:
        """Play one chunk; opens the stream at the voice's rate on first use."""
        if self._stream is None:
            self._stream = self._sd.RawOutputStream(
                device=self._device, samplerate=chunk.sample_rate, channels=1, dtype="int16"
            )
            self._stream.start()
        self._stream.write(chunk.pcm)

    def close(self) -> None:
        """Let the last chunk finish playing, then close."""
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
