"""Segmenter: the pure endpointer fed with numbers, then real webrtcvad on generated speech."""

from __future__ import annotations

from pathlib import Path

import pytest

from sage.audio.segmenter import Endpointer, Pause, Segmenter, Utterance
from sage.audio.wav import read_wav
from sage.config import SegmenterConfig
from sage.errors import ConfigError

CFG = SegmenterConfig(
    frame_ms=30,
    preroll_ms=300,
    hangover_ms=300,
    start_ms=90,
    min_speech_ms=150,
    max_utterance_s=3.0,
)
FRAME = b"\x00\x00" * 480


def run(pattern: str, config: SegmenterConfig = CFG) -> list[Utterance]:
    """Feed a voiced/unvoiced pattern ('#' voiced, '.' silent), one 30 ms frame per char."""
    ep = Endpointer(config)
    out = []
    for i, ch in enumerate(pattern):
        utt = ep.feed(FRAME, ch == "#", (i + 1) * 0.03)
        if utt:
            out.append(utt)
    if (utt := ep.flush(len(pattern) * 0.03)) is not None:
        out.append(utt)
    return out


def frames(utt: Utterance) -> int:
    return len(utt.pcm) // len(FRAME)


@pytest.mark.parametrize(
    ("pattern", "expected_frames"),
    [
        ("." * 50, []),  # silence: nothing
        ("." * 20 + "##" + "." * 20, []),  # 60 ms click never opens
        ("." * 20 + "####" + "." * 20, []),  # opens, but < min speech: dropped
        (
            "." * 20 + "#" * 20 + "." * 20,
            [10 + 17 + 10],
        ),  # pre-roll 10 (incl. 3 voiced) + 17 + hang-over 10
        ("#" * 20 + "." * 20 + "#" * 20 + "." * 20, [20 + 10, 10 + 17 + 10]),
        ("." * 20 + "#" * 20, [10 + 17]),  # end of stream closes it
        (
            "." * 5 + "#" * 10 + "." * 5 + "#" * 10 + "." * 20,
            [8 + 7 + 5 + 10 + 10],
        ),  # short pause bridged
    ],
)
def test_endpointer_table(pattern: str, expected_frames: list[int]) -> None:
    assert [frames(u) for u in run(pattern)] == expected_frames


def test_cap_closes_and_ignores_speech_until_a_pause() -> None:
    utts = run("#" * 300 + "." * 20 + "#" * 20 + "." * 20)
    assert [u.capped for u in utts] == [True, False]
    assert frames(utts[0]) == 100  # 3.0 s cap
    assert frames(utts[1]) == 10 + 17 + 10


def test_times_are_stream_seconds() -> None:
    (utt,) = run("." * 20 + "#" * 20 + "." * 20)
    assert utt.started_at == pytest.approx(0.03 * 20 - 0.03 * 7, abs=1e-9)
    assert utt.speech_ended_at == pytest.approx(0.03 * 40)
    assert utt.closed_at == pytest.approx(0.03 * 50)


def test_a_pause_is_reported_before_the_hang_over_with_the_utterances_key() -> None:
    config = SegmenterConfig(**{**CFG.__dict__, "early_asr_ms": 120})  # 4 frames
    pauses: list[Pause] = []
    ep = Endpointer(config, pauses.append)
    out = []
    # speech, a 5-frame pause (reported, then bridged), speech, silence that closes it
    for i, ch in enumerate("." * 5 + "#" * 10 + "." * 5 + "#" * 10 + "." * 20):
        if (utt := ep.feed(FRAME, ch == "#", (i + 1) * 0.03)) is not None:
            out.append(utt)
    (utt,) = out
    assert [len(p.pcm) // len(FRAME) for p in pauses] == [8 + 7 + 4, 8 + 7 + 5 + 10 + 4]
    assert pauses[0].speech_ended_at != utt.speech_ended_at  # stale: speech went on
    assert pauses[1].speech_ended_at == utt.speech_ended_at
    assert utt.pcm.startswith(pauses[1].pcm)


def test_early_recognition_must_come_before_the_hang_over_ends() -> None:
    with pytest.raises(ConfigError, match="segmenter.early_asr_ms"):
        SegmenterConfig(hangover_ms=300, early_asr_ms=300)
    assert SegmenterConfig(hangover_ms=0, early_asr_ms=0).early_asr_ms == 0


def test_segmenter_frames_arbitrary_blocks() -> None:
    voiced = iter([False] * 20 + [True] * 20 + [False] * 20)
    seg = Segmenter(CFG, is_speech=lambda frame: next(voiced))
    pcm = FRAME * 60
    utts = [u for i in range(0, len(pcm), 777) for u in seg.push(pcm[i : i + 777])]
    utts += list(seg.flush())
    assert [frames(u) for u in utts] == [37]


def test_real_vad_finds_three_utterances(speak_piper) -> None:  # type: ignore[no-untyped-def]
    wav: Path = speak_piper("three_for_vad", "Hello.", "What time is it?", "Thank you.")
    seg = Segmenter(SegmenterConfig())
    pcm = read_wav(wav)
    utts = list(seg.push(pcm)) + list(seg.flush())
    assert len(utts) == 3
    seconds_of_audio = [len(u.pcm) / 32000 for u in utts]
    assert all(0.3 < length < 3.0 for length in seconds_of_audio)


def test_real_vad_ignores_silence() -> None:
    seg = Segmenter(SegmenterConfig())
    assert list(seg.push(b"\x00\x00" * 16000 * 10)) + list(seg.flush()) == []
