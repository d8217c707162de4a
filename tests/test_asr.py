"""Two-tier ASR on generated speech: the grammar takes commands, whisper the rest."""

from __future__ import annotations

import pytest

from sage.audio.wav import read_wav
from sage.catalog import ModelCache
from sage.config import AsrConfig
from sage.patterns.matcher import PatternMatcher, normalise
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.speech.asr import GrammarRecognizer, SpeechRecognizer, WhisperRecognizer, hotwords_for
from datetime import datetime


@pytest.fixture(scope="module")
def recognizer(models: ModelCache) -> SpeechRecognizer:
    rules = load_rules([DEFAULT_RULES])
    matcher = PatternMatcher(rules)
    return SpeechRecognizer(
        GrammarRecognizer(models.path("sphinx"), rules),
        WhisperRecognizer(models.path("whisper"), AsrConfig(), hotwords_for(rules)),
        lambda text: matcher.match(text, datetime.now()) is not None,
    )


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        ("What time is it?", "grammar"),
        ("Hello.", "grammar"),
        ("Thank you.", "grammar"),
        ("What day is it today?", "grammar"),
        ("The weather is nice today.", "whisper"),
        ("What is the capital of France?", "whisper"),
        ("Tell me a story about a dragon.", "whisper"),
    ],
)
def test_piper_speech(recognizer: SpeechRecognizer, speak_piper, text: str, tier: str) -> None:  # type: ignore[no-untyped-def]
    pcm = read_wav(speak_piper(f"asr_{normalise(text).replace(' ', '_')}", text))
    transcript = recognizer.transcribe(pcm)
    assert transcript.tier == tier
    assert normalise(transcript.text) == normalise(text).replace("today", "today")
    if tier == "whisper":
        assert transcript.grammar_text is not None  # tier 1 ran and was not accepted


@pytest.mark.parametrize("text", ["what time is it", "what is the capital of france"])
def test_espeak_voice(recognizer: SpeechRecognizer, speak_espeak, text: str) -> None:  # type: ignore[no-untyped-def]
    transcript = recognizer.transcribe(read_wav(speak_espeak(f"espeak_{text.replace(' ', '_')}", text)))
    assert normalise(transcript.text) == text
    assert transcript.tier in ("grammar", "whisper")


def test_silence_is_no_speech(recognizer: SpeechRecognizer) -> None:
    transcript = recognizer.transcribe(b"\x00\x00" * 16000 * 2)
    assert (transcript.text, transcript.tier) == ("", "none")
