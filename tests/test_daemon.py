"""The daemon loop in-process: many utterances, the wake word gate, stop, bad turns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from sage.audio.io import NullSink, wav_source
from sage.audio.segmenter import Utterance
from sage.audio.wakeword import WakeWordGate
from sage.catalog import ModelCache
from sage.config import Config, WakeConfig
from sage.daemon import Daemon
from sage.lists import Lists
from sage.metabolism.metabolism import Metabolism
from sage.metabolism.states import STATES_DIR, load_settings
from sage.notes import Notes
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.pipeline import Pipeline, Turn
from sage.speech.asr import SpeechRecognizer, Transcript
from sage.speech.tts import AudioChunk
from sage.timers import Timers
from sage.trust.store import Store


@pytest.fixture(scope="module")
def pipeline(config: Config, models: ModelCache) -> Iterator[Pipeline]:
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink())
    yield pipe
    pipe.close()


def rules_of(turns: list[Turn]) -> list[str | None]:
    return [t.rule for t in turns]


def test_wake_word_gates_requests(pipeline: Pipeline, speak_piper) -> None:  # type: ignore[no-untyped-def]
    wav = speak_piper(
        "wake", "What time is it?", "Okay Nabu.", "What day is it today?", "Thank you."
    )
    wake = WakeWordGate(WakeConfig(enabled=True, model="okay_nabu", window_s=4.0))
    turns = Daemon(pipeline, wake=wake).run(wav_source(wav))
    # Before the wake word nothing is heard; after it one request; then it waits again.
    assert rules_of(turns) == ["date"]


def test_without_wake_word_every_utterance_is_answered(pipeline: Pipeline, speak_piper) -> None:  # type: ignore[no-untyped-def]
    wav = speak_piper("nowake", "What time is it?", "What day is it today?", "Thank you.")
    assert rules_of(Daemon(pipeline).run(wav_source(wav))) == ["time", "date", "thanks"]


def test_stop_ends_the_loop_after_the_current_turn(pipeline: Pipeline, speak_piper) -> None:  # type: ignore[no-untyped-def]
    wav = speak_piper("stopping", "Hello there.", "What time is it?", "Thank you.")
    daemon = Daemon(pipeline, on_turn=lambda turn: daemon.stop())
    assert rules_of(daemon.run(wav_source(wav))) == ["greeting"]


def test_recognition_starts_at_the_pause_before_the_hang_over_ends(
    pipeline: Pipeline, speak_piper, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    wav = speak_piper("early", "What day is it today?", "Why is the sky blue?")
    events: list[tuple[str, int]] = []
    begin = SpeechRecognizer.begin

    def spy(self: SpeechRecognizer, pcm: bytes) -> Future[Transcript]:
        events.append(("recognise", len(pcm)))
        return begin(self, pcm)

    monkeypatch.setattr(SpeechRecognizer, "begin", spy)
    hear = pipeline.hear
    monkeypatch.setattr(pipeline, "hear", lambda u, v, e: events.append(("close", len(u.pcm)))
                        or hear(u, v, e))  # fmt: skip
    turns = Daemon(pipeline).run(wav_source(wav))
    assert [t.rule for t in turns] == ["date", None]
    assert turns[1].transcript.lower().startswith("why is the sky blue")
    # One recognition per utterance, begun on its speech before the silence closed it.
    assert [kind for kind, _ in events] == ["recognise", "close"] * 2
    assert events[0][1] < events[1][1] and events[2][1] < events[3][1]


class ExplodingPipeline(Pipeline):
    """A pipeline whose second turn raises, as a native library bug would."""

    calls = 0

    def hear(
        self, utterance: Utterance, vad_ms: float = 0.0, early: Future[Transcript] | None = None
    ) -> Turn:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("native crash stand-in")
        return super().hear(utterance, vad_ms, early)


def test_one_bad_turn_does_not_stop_the_daemon(
    config: Config, models: ModelCache, speak_piper, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    wav = speak_piper("exploding", "Hello there.", "What time is it?", "Thank you.")
    pipe = ExplodingPipeline(config, models, load_rules([DEFAULT_RULES]), NullSink())
    turns = Daemon(pipe).run(wav_source(wav))
    assert rules_of(turns) == ["greeting", "thanks"]
    assert sum("turn failed" in r.message for r in caplog.records) == 1


def test_stop_listening_by_voice_until_start_listening(  # type: ignore[no-untyped-def]
    config: Config, models: ModelCache, speak_piper, tmp_path: Path
) -> None:
    wav = speak_piper("listening", "Stop listening.", "What time is it?", "Start listening.",
                      "Thank you.")  # fmt: skip
    store = Store(tmp_path / "sage.db")
    metabolism = Metabolism(load_settings(STATES_DIR), store, tmp_path / "status.json", 0.0)
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink(), store=store,
                    metabolism=metabolism)  # fmt: skip
    try:
        turns = Daemon(pipe).run(wav_source(wav))
    finally:
        pipe.close()
    assert rules_of(turns) == ["listening", "not_listening", "listening", "thanks"]
    assert turns[1].transcript == ""  # what it heard then is not kept


def test_a_note_and_a_list_kept_by_voice(  # type: ignore[no-untyped-def]
    config: Config, models: ModelCache, speak_piper, tmp_path: Path
) -> None:
    said = ["Remember that my car is on level three.", "Where's my car?",
            "Please put eggs and bread on my shopping list.",
            "What's on my shopping list?"]  # fmt: skip
    wav = speak_piper("notes", *said)
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink(),
                    notes=Notes(tmp_path / "notes.json"),
                    lists=Lists(tmp_path / "lists.json"))  # fmt: skip
    try:
        turns = Daemon(pipe).run(wav_source(wav))
    finally:
        pipe.close()
    assert [t.reply for t in turns] == [
        "Okay, I'll remember that your car is on level 3.",
        "You told me your car is on level 3.",
        "Okay, I've added eggs and bread to your shopping list.",
        "Your shopping list has 2 things: eggs and bread.",
    ]


class SaidSink:
    """A speaker that remembers what it was given to say."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def write(self, chunk: AudioChunk) -> None:
        if not self.said or self.said[-1] != chunk.text:
            self.said.append(chunk.text)

    def close(self) -> None:
        pass


def test_a_timer_set_by_voice_is_said_when_it_runs_out_even_after_a_restart(  # type: ignore[no-untyped-def]
    config: Config, models: ModelCache, speak_piper, tmp_path: Path
) -> None:
    """The base said "Sure, I'll remind you." and set nothing."""
    sink, kept = SaidSink(), tmp_path / "timers.json"
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), sink,
                    timers=Timers(kept, live=True))  # fmt: skip
    try:
        turns = Daemon(pipe).run(wav_source(speak_piper("timer", "Set a timer for five minutes.")))
        assert [t.rule for t in turns] == ["timer"]
        assert sink.said == ["Okay, a 5 minute timer, starting now."]  # not done yet
    finally:
        pipe.close()
    # Five minutes pass while SAGE is stopped; the next run says it as soon as it starts.
    rows = json.loads(kept.read_text())
    kept.write_text(json.dumps([{**row, "due_at": row["due_at"] - 300} for row in rows]))
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), sink,
                    timers=Timers(kept, live=True))  # fmt: skip
    try:
        Daemon(pipe).run(iter([bytes(3200)] * 10))  # a second of silence
        assert sink.said[-1] == "Your 5 minute timer is done."
        assert json.loads(kept.read_text()) == []  # said once, then gone
    finally:
        pipe.close()
