#!/usr/bin/env python3
"""Word errors and time of ASR tier 2 (whisper) on generated speech, per voice.

    .venv/bin/python tools/bench_asr.py [--beam 3] [--hotwords]
                                        [--out FILE]

The 52 evaluation questions (tools/eval/questions.toml) and the latency benchmark's
pattern phrases are spoken by Piper and by espeak-ng (a formant voice, far from whisper's
training data) and recognised by SAGE's own WhisperRecognizer, one utterance at a time
with 0.5 s of silence before it and 1 s after. Reports word errors per word said
(sage.speech.asr.word_errors, as tools/bench_latency.py), recognition time p50 and
max, and what was misheard.
--hotwords prompts whisper with the rules' vocabulary, as asr.whisper_hotwords does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from bench_latency import PATTERN_PHRASES, espeak_pcm, piper_pcm
from machine import describe, results_path, save

from sage.audio.io import NullSink
from sage.catalog import ModelCache
from sage.config import load_config
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.pipeline import Pipeline
from sage.speech.asr import WhisperRecognizer, hotwords_for, word_errors

ROOT = Path(__file__).resolve().parent.parent


def measure(whisper: WhisperRecognizer, clips: list[tuple[str, bytes]]) -> dict[str, object]:
    errors = words = 0
    seconds: list[float] = []
    misheard: list[dict[str, str]] = []
    for text, pcm in clips:
        t0 = time.perf_counter()
        heard = whisper.recognize(pcm)
        seconds.append(time.perf_counter() - t0)
        wrong = word_errors(heard, text)
        errors, words = errors + wrong, words + len(text.split())
        if wrong:
            misheard.append({"said": text, "heard": heard})
    return {
        "utterances": len(clips),
        "word_error_rate": round(errors / words, 3),
        "recognition_ms": {
            "p50": round(statistics.median(seconds) * 1000, 1),
            "max": round(max(seconds) * 1000, 1),
        },
        "misheard": misheard,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beam", type=int, help="whisper beam size (default: the config's)")
    parser.add_argument("--hotwords", action="store_true", help="prompt with the rules' words")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = load_config()
    if args.beam is not None:
        asr = dataclasses.replace(config.asr, whisper_beam_size=args.beam)
        config = dataclasses.replace(config, asr=asr)
    models = ModelCache(config.paths.cache_dir)
    voice = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink())  # Piper only
    questions = tomllib.loads((ROOT / "tools" / "eval" / "questions.toml").read_text())["q"]
    texts = [q["text"] for q in questions] + PATTERN_PHRASES
    hotwords = hotwords_for(load_rules([DEFAULT_RULES])) if args.hotwords else ""
    whisper = WhisperRecognizer(models.path("whisper"), config.asr, hotwords)
    voices: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clips = {"piper": [(t, piper_pcm(voice, t)) for t in texts]}
        spoken = [(t, espeak_pcm(t, Path(tmp))) for t in texts]
        clips["espeak-ng"] = [(t, pcm) for t, pcm in spoken if pcm is not None]
    voice.close()
    whisper.recognize(b"\x00\x00" * 8000)  # first call out of the timings
    for name, voice_clips in clips.items():
        if voice_clips:
            voices[name] = measure(whisper, voice_clips)
    result = {
        "benchmark": "bench_asr",
        "machine": describe(),
        "whisper_beam_size": config.asr.whisper_beam_size,
        "hotwords": hotwords,
        "voices": voices,
    }
    out = args.out or results_path("bench_asr_hotwords" if args.hotwords else "bench_asr")
    save(result, out)
    print(json.dumps({name: {k: v for k, v in figures.items() if k != "misheard"}  # type: ignore[attr-defined]
                      for name, figures in voices.items()}, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
