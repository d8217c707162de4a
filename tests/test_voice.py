"""The voice's volume and pace, changed by voice: "louder", "turn it down", "speak slower"."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from sage.audio.io import wav_source
from sage.catalog import ModelCache
from sage.config import Config
from sage.daemon import Daemon
from sage.patterns.matcher import PatternMatcher, normalise
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.pipeline import Pipeline
from sage.speech.tts import AudioChunk
from sage.speech.voice import VoiceSettings

NOW = datetime(2026, 11, 23, 9, 0)
AT_FULL = "I'm at full volume; the volume control on this device goes louder."
ASKED = "My volume is 100 percent. Say louder or quieter, or set the volume to a percentage."


@pytest.fixture(scope="module")
def matcher() -> PatternMatcher:
    return PatternMatcher(load_rules([DEFAULT_RULES]))


def change(settings: VoiceSettings, matcher: PatternMatcher, said: str) -> str:
    match = matcher.match(said, NOW)
    assert match is not None and match.rule == "voice", said
    return settings.change(match.slots, normalise(said))


@pytest.mark.parametrize(
    ("said", "reply", "volume", "pace"),
    [
        ("Quieter.", "Okay, volume 80 percent.", 80, 0),
        # the base said "Sure, I can help with that." and changed nothing
        ("Turn up the volume.", AT_FULL, 100, 0),
        ("Turn it down, please.", "Okay, volume 80 percent.", 80, 0),
        ("Set the volume to 40 percent.", "Okay, volume 40 percent.", 40, 0),
        ("Set the volume to 3.", "Okay, volume 30 percent.", 30, 0),  # out of 10
        ("Set the volume to 300.", "I can set my volume from 10 to 100 percent.", 100, 0),
        ("What's your volume?", ASKED, 100, 0),
        ("Speak slower.", "Okay, I'll speak slower.", 100, -1),
        ("Talk faster, please.", "Okay, I'll speak faster.", 100, 1),
        ("Speak at normal speed.", "Okay, this is my normal pace.", 100, 0),
    ],
)  # fmt: skip
def test_a_change_is_said_and_applied(
    matcher: PatternMatcher, said: str, reply: str, volume: int, pace: int
) -> None:
    settings = VoiceSettings(None)
    assert change(settings, matcher, said) == reply
    assert (settings.voice.volume, settings.voice.pace) == (volume, pace)


def test_volume_and_pace_stop_at_their_limits(matcher: PatternMatcher) -> None:
    settings = VoiceSettings(None)
    said = [change(settings, matcher, "Quieter.") for _ in range(6)]
    assert said[-2:] == ["Okay, volume 10 percent.", "This is as quiet as I go: 10 percent."]
    said = [change(settings, matcher, "Slow down.") for _ in range(3)]
    assert said[-1] == "That's as slow as I speak."
    volume, length_scale = settings.synthesis(1.0)
    assert volume == 0.1
    assert length_scale == pytest.approx(1.2**2)


def test_settings_survive_a_restart_and_a_corrupt_file_gives_the_defaults(
    matcher: PatternMatcher, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kept = tmp_path / "voice.json"
    change(VoiceSettings(kept), matcher, "Turn it down.")
    change(VoiceSettings(kept), matcher, "Speak faster.")
    assert VoiceSettings(kept).synthesis(1.0) == pytest.approx((0.8, 1 / 1.2))
    kept.write_text('{"volume": 8000')
    assert VoiceSettings(kept).synthesis(1.0) == (1.0, 1.0)
    assert sum("unreadable" in r.message for r in caplog.records) == 1
    assert (tmp_path / "voice.json.corrupt").exists()  # kept aside, not lost


def test_an_unwritable_state_folder_keeps_the_change_until_a_restart(
    matcher: PatternMatcher, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "state").write_text("a file where the folder should be")
    settings = VoiceSettings(tmp_path / "state" / "voice.json")
    assert change(settings, matcher, "Quieter.") == "Okay, volume 80 percent."
    assert settings.voice.volume == 80
    assert any("could not write" in r.message for r in caplog.records)


class PcmSink:
    """A speaker that keeps the audio it was given, per sentence."""

    def __init__(self) -> None:
        self.spoken: dict[str, np.ndarray] = {}

    def write(self, chunk: AudioChunk) -> None:
        pcm = np.frombuffer(chunk.pcm, np.int16)
        self.spoken[chunk.text] = np.concatenate([self.spoken.get(chunk.text, pcm[:0]), pcm])

    def close(self) -> None:
        pass


def test_the_voice_really_gets_quieter_and_slower(
    config: Config, models: ModelCache, tmp_path: Path
) -> None:
    """Piper's own audio: its peak falls with the volume, its length grows with the pace."""
    sink = PcmSink()
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), sink, clock=lambda: NOW,
                    voice=VoiceSettings(tmp_path / "voice.json"))  # fmt: skip

    def date_said() -> np.ndarray:
        sink.spoken.clear()
        assert pipe.ask("What's the date today?").reply == "Today is Monday, November 23, 2026."
        return sink.spoken["Today is Monday, November 23, 2026."]

    try:
        full = date_said()
        assert pipe.ask("Set the volume to 50 percent.").rule == "voice"
        half = date_said()
        assert pipe.ask("Speak slower.").reply == "Okay, I'll speak slower."
        slow = date_said()
    finally:
        pipe.close()
    assert np.abs(half).max() == pytest.approx(np.abs(full).max() / 2, rel=0.02)
    assert len(slow) > 1.08 * len(half)  # 1.2 times the length scale


def test_a_spoken_request_changes_the_voice(  # type: ignore[no-untyped-def]
    config: Config, models: ModelCache, speak_piper, tmp_path: Path
) -> None:
    wav = speak_piper("voice", "Turn it down, please.", "Speak slower.")
    settings = VoiceSettings(tmp_path / "voice.json")
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), PcmSink(), voice=settings)
    try:
        turns = Daemon(pipe).run(wav_source(wav))
    finally:
        pipe.close()
    assert [t.reply for t in turns] == ["Okay, volume 80 percent.", "Okay, I'll speak slower."]
    assert VoiceSettings(tmp_path / "voice.json").voice.pace == -1
