"""WAV files: a strict RIFF reader, conversion to 16 kHz mono s16, and a writer.

Python's ``wave`` module rejects float and WAVE_FORMAT_EXTENSIBLE files, which many
recorders write, so the reader parses RIFF itself and fails with AudioFormatError.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from sage.audio import SAMPLE_RATE
from sage.errors import AudioFormatError

_PCM = 0x0001
_FLOAT = 0x0003
_EXTENSIBLE = 0xFFFE
MIN_RATE = 8_000
MAX_RATE = 48_000
_STREAMING_SIZES = (0, 0xFFFFFFFF)
"""Data sizes that streaming writers leave in the header: read to the end of file."""


@dataclass(frozen=True)
class PcmAudio:
    """Decoded audio before conversion."""

    samples: np.ndarray
    """float32 in [-1, 1], shape (frames, channels)."""
    sample_rate: int
    """Hz."""


def parse_wav(data: bytes) -> PcmAudio:
    """Decode a RIFF/WAVE byte string (PCM 8/16/24/32-bit or float 32/64)."""
    if len(data) < 12:
        raise AudioFormatError(f"not a WAV file: {len(data)} bytes is shorter than a header")
    riff, _, wave_id = struct.unpack("<4sI4s", data[:12])
    if riff != b"RIFF" or wave_id != b"WAVE":
        raise AudioFormatError("not a WAV file: missing RIFF/WAVE header")
    fmt: tuple[int, int, int, int] | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = struct.unpack("<4sI", data[pos : pos + 8])
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(data[body : body + size])
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioFormatError("malformed WAV: data chunk before fmt chunk")
            end = len(data) if size in _STREAMING_SIZES else body + size
            if end > len(data):
                raise AudioFormatError(
                    f"truncated WAV: header promises {size} bytes of audio, "
                    f"file holds {len(data) - body}"
                )
            return _decode(data[body:end], *fmt)
        pos = body + size + (size & 1)
    if fmt is None:
        raise AudioFormatError("malformed WAV: no fmt chunk")
    raise AudioFormatError("truncated WAV: no data chunk")


def _parse_fmt(body: bytes) -> tuple[int, int, int, int]:
    if len(body) < 16:
        raise AudioFormatError("malformed WAV: fmt chunk is too short")
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE:
        if len(body) < 26:
            raise AudioFormatError("malformed WAV: extensible fmt chunk is too short")
        tag = struct.unpack("<H", body[24:26])[0]  # first two bytes of the sub-format GUID
    if tag not in (_PCM, _FLOAT):
        raise AudioFormatError(f"unsupported WAV encoding 0x{tag:04x} (need PCM or float)")
    if not 1 <= channels <= 8:
        raise AudioFormatError(f"unsupported channel count {channels}")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioFormatError(f"sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    allowed = (32, 64) if tag == _FLOAT else (8, 16, 24, 32)
    if bits not in allowed or block_align != channels * bits // 8:
        raise AudioFormatError(f"unsupported sample format: {bits}-bit, block {block_align}")
    return tag, channels, rate, bits


def _decode(raw: bytes, tag: int, channels: int, rate: int, bits: int) -> PcmAudio:
    width = bits // 8
    usable = len(raw) - len(raw) % (width * channels)
    raw = raw[:usable]
    if tag == _FLOAT:
        samples = np.frombuffer(raw, dtype=f"<f{width}").astype(np.float32)
        samples = np.nan_to_num(np.clip(samples, -1.0, 1.0), nan=0.0)
    elif bits == 8:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8  # sign-extend
        samples = ints.astype(np.float32) / float(1 << 23)
    else:
        samples = np.frombuffer(raw, dtype=f"<i{width}").astype(np.float32) / float(1 << (bits - 1))
    return PcmAudio(samples.reshape(-1, channels), rate)


def to_pcm16_mono(audio: PcmAudio) -> bytes:
    """Mix down to mono, resample to 16 kHz, and quantise to s16 little-endian."""
    mono = audio.samples.mean(axis=1) if audio.samples.size else np.zeros(0, np.float32)
    if audio.sample_rate != SAMPLE_RATE and mono.size:
        mono = soxr.resample(mono, audio.sample_rate, SAMPLE_RATE, quality="HQ")
    return float_to_pcm16(mono)


def float_to_pcm16(samples: np.ndarray) -> bytes:
    """float in [-1, 1) → s16le bytes, clipped; the inverse of reading s16 (lossless)."""
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2").tobytes()


def read_wav(path: Path) -> bytes:
    """Read a WAV file of any common format as 16 kHz mono s16le."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AudioFormatError(f"cannot read {path}: {exc.strerror}") from None
    if not data:
        raise AudioFormatError(f"{path} is empty (0 bytes)")
    return to_pcm16_mono(parse_wav(data))


def wav_bytes(pcm: bytes, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Wrap mono s16le PCM in a WAV container."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return buf.getvalue()
