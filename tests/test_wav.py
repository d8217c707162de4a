"""WAV reading and conversion: table tests over formats, typed errors, and a fuzz test."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sage.audio import SAMPLE_RATE
from sage.audio.wav import parse_wav, read_wav, to_pcm16_mono, wav_bytes
from sage.errors import AudioFormatError


def make_wav(
    rate: int,
    bits: int,
    channels: int,
    seconds: float = 0.5,
    float_fmt: bool = False,
    extensible: bool = False,
    freq: float = 440.0,
) -> bytes:
    """A sine tone in the requested container format."""
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.5 * np.sin(2 * np.pi * freq * t)
    frames = np.repeat(tone[:, None], channels, axis=1).reshape(-1)
    if float_fmt:
        payload = frames.astype(f"<f{bits // 8}").tobytes()
    elif bits == 8:
        payload = (frames * 127 + 128).astype(np.uint8).tobytes()
    elif bits == 24:
        ints = (frames * (2**23 - 1)).astype("<i4")
        payload = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        payload = (frames * (2 ** (bits - 1) - 1)).astype(f"<i{bits // 8}").tobytes()
    tag = 3 if float_fmt else 1
    block = channels * bits // 8
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = (
            struct.pack(
                "<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0
            )
            + struct.pack("<H", tag)
            + guid_tail
        )
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def dominant_freq(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, "<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(samples))


@pytest.mark.parametrize(
    ("rate", "bits", "channels", "float_fmt", "extensible"),
    [
        (8000, 16, 1, False, False),
        (11025, 8, 1, False, False),
        (16000, 16, 1, False, False),
        (22050, 16, 2, False, False),
        (24000, 24, 1, False, False),
        (32000, 32, 2, False, False),
        (44100, 16, 2, False, False),
        (48000, 8, 2, False, False),  # the 8-bit 48 kHz stereo case
        (48000, 24, 2, False, True),
        (44100, 32, 1, True, False),
        (48000, 32, 2, True, True),
        (16000, 64, 1, True, False),
    ],
)
def test_formats_convert_to_16k_mono(
    rate: int, bits: int, channels: int, float_fmt: bool, extensible: bool
) -> None:
    pcm = to_pcm16_mono(parse_wav(make_wav(rate, bits, channels, 0.5, float_fmt, extensible)))
    assert len(pcm) == pytest.approx(SAMPLE_RATE * 2 * 0.5, abs=2 * 8)
    assert dominant_freq(pcm) == pytest.approx(440, abs=5)
    peak = np.abs(np.frombuffer(pcm, "<i2")).max()
    assert 0.4 * 32767 < peak < 0.6 * 32767


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "shorter than a header"),
        (b"hello world, this is not audio at all", "missing RIFF/WAVE"),
        (make_wav(16000, 16, 1)[:60], "truncated WAV"),
        (make_wav(16000, 16, 1)[:30], "fmt chunk is too short"),
        (make_wav(96000, 16, 1), "outside 8000-48000"),
        (
            make_wav(16000, 16, 1).replace(b"\x01\x00\x01\x00", b"\x11\x00\x01\x00", 1),
            "encoding 0x0011",
        ),
        (make_wav(16000, 16, 1).replace(b"fmt ", b"junk"), "data chunk before fmt"),
        (make_wav(16000, 16, 1).replace(b"data", b"junk"), "no data chunk"),
    ],
)
def test_bad_wavs_raise_typed_errors(data: bytes, message: str) -> None:
    with pytest.raises(AudioFormatError, match=message):
        parse_wav(data)


def test_empty_file_and_missing_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioFormatError, match="empty"):
        read_wav(empty)
    with pytest.raises(AudioFormatError, match="cannot read"):
        read_wav(tmp_path / "missing.wav")


def test_streaming_header_reads_to_end() -> None:
    data = bytearray(make_wav(16000, 16, 1, 0.25))
    data[40:44] = b"\xff\xff\xff\xff"  # data size left unset by a streaming writer
    assert len(to_pcm16_mono(parse_wav(bytes(data)))) == 16000 * 2 // 4


def test_round_trip_through_writer() -> None:
    pcm = np.arange(-1000, 1000, dtype="<i2").tobytes()
    assert to_pcm16_mono(parse_wav(wav_bytes(pcm))) == pcm


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    with contextlib.suppress(AudioFormatError):
        to_pcm16_mono(parse_wav(data))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_fuzz_mutated_headers(data: st.DataObject) -> None:
    wav = bytearray(
        make_wav(
            data.draw(st.sampled_from([8000, 16000, 44100])),
            data.draw(st.sampled_from([8, 16, 24, 32])),
            data.draw(st.integers(1, 2)),
            0.05,
        )
    )
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, 60))
        wav[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(wav)))
    with contextlib.suppress(AudioFormatError):
        to_pcm16_mono(parse_wav(bytes(wav[:cut])))
