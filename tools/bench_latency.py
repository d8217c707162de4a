#!/usr/bin/env python3
"""Latency of the voice loop per path, on generated speech, with the daemon's warm models.

For each path (pattern rules, LLM) at least 20 utterances are spoken by Piper (and the
pattern phrases also by espeak-ng) and played into the daemon's own loop at real-time
pace, 30 ms blocks as a microphone delivers them: the real VAD segments them, recognition
starts at the first pause (segmenter.early_asr_ms) while the hang-over runs, and the real
pipeline answers into a null sink. Writes JSON with p50/p95 of every stage, of
hand-over → first reply audio ("first_audio") and of end of speech → first reply audio
("speech_end_to_audio", the hang-over included), the share of ASR tiers, and peak RSS.

    .venv/bin/python tools/bench_latency.py [--facts tools/eval/household.md] [--out FILE]

The JSON goes to tools/results/<machine>/bench_latency.json (bench_latency_facts.json
with --facts; tools/machine.py names the machine).

As the daemon runs: KV-cache snapshots on (in a temporary directory: the first load is
cold, the standing prefix is snapshotted and stays in the cache for every turn). With
--facts the standing prefix carries that household-facts file (about 740 tokens with the
shipped one), as a configured home would.

"first_audio" starts when the segmenter hands over the utterance, after the hang-over
(config segmenter.hangover_ms) of silence; "asr" is how long the answer then waited for
its transcript, "asr_compute" how long recognition took, mostly during the hang-over.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from machine import describe, results_path, save

from sage.audio.io import NullSink
from sage.audio.wav import PcmAudio, read_wav, to_pcm16_mono
from sage.catalog import ModelCache
from sage.config import load_config
from sage.daemon import Daemon
from sage.metabolism.snapshots import SnapshotStore
from sage.patterns.matcher import normalise
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.pipeline import Pipeline
from sage.speech.asr import word_errors

PATTERN_PHRASES = [
    "Hello there.",
    "Hi.",
    "Good morning.",
    "Good evening.",
    "How are you?",
    "What time is it?",
    "What's the time?",
    "Tell me the time.",
    "What day is it today?",
    "What's the date today?",
    "What day of the week is it?",
    "What can you do?",
    "What is your name?",
    "Who are you?",
    "Stop.",
    "Never mind.",
    "Cancel that.",
    "Thank you.",
    "Thanks a lot.",
    "Goodbye.",
    "See you later.",
    "Good night.",
]
LLM_QUESTIONS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "Why is the sky blue?",
    "What is the boiling point of water?",
    "Who wrote Romeo and Juliet?",
    "What is the largest planet in our solar system?",
    "How far is the moon from the earth?",
    "What is photosynthesis?",
    "Give me a tip for sleeping better.",
    "What language is spoken in Brazil?",
    "How many days are in a leap year?",
    "What is the speed of light?",
    "Who painted the Mona Lisa?",
    "What is the tallest mountain in the world?",
    "How do I boil an egg?",
    "What is the chemical symbol for gold?",
    "Name a fruit that is yellow.",
    "What is the opposite of hot?",
    "How many continents are there?",
    "What does a bee make?",
]
STAGES = ("vad", "asr", "asr_compute", "match", "llm_first_token", "tts_first_audio",
          "first_audio", "speech_end_to_audio")  # fmt: skip
BLOCK_S = 0.03
TRAILING_SILENCE_S = 1.0
"""After each clip: longer than the hang-over, so the utterance closes as it would live."""


def piper_pcm(pipeline: Pipeline, text: str) -> bytes:
    chunks = list(pipeline.speaker.speak(text))
    rate = chunks[0].sample_rate
    audio = np.concatenate([np.frombuffer(c.pcm, np.int16) for c in chunks]).astype(np.float32)
    lead, tail = (np.zeros(int(rate * s), np.float32) for s in (0.5, TRAILING_SILENCE_S))
    samples = np.concatenate([lead, audio / 32768.0, tail])[:, None]
    return to_pcm16_mono(PcmAudio(samples, rate))


def espeak_pcm(text: str, workdir: Path) -> bytes | None:
    if shutil.which("espeak-ng") is None:
        return None
    wav = workdir / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), text], check=True)
    silence = b"\x00\x00" * 8000
    return silence + read_wav(wav) + silence * round(TRAILING_SILENCE_S * 2)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(statistics.median(values), 1),
        "p95": round(float(np.percentile(values, 95)), 1),
        "n": len(values),
    }


def real_time(pcm: bytes) -> Iterator[bytes]:
    """``pcm`` in 30 ms blocks, each when a microphone would have delivered it."""
    block = int(BLOCK_S * 32000)
    start = time.perf_counter()
    for n, offset in enumerate(range(0, len(pcm), block)):
        time.sleep(max(0.0, start + n * BLOCK_S - time.perf_counter()))
        yield pcm[offset : offset + block]


def run_path(pipeline: Pipeline, clips: list[tuple[str, str, bytes]]) -> dict[str, object]:
    config = pipeline.config.segmenter
    hangover_ms = round(config.hangover_ms / config.frame_ms) * config.frame_ms
    turns: list[dict[str, Any]] = []
    for voice, text, pcm in clips:
        heard = Daemon(pipeline).run(real_time(pcm))
        if not heard:
            turns.append({"voice": voice, "said": text, "route": "none", "timings_ms": {}})
            continue
        turn = heard[0].to_json()
        if "first_audio" in turn["timings_ms"]:
            turn["timings_ms"]["speech_end_to_audio"] = (
                hangover_ms + turn["timings_ms"]["first_audio"]
            )
        turns.append({"voice": voice, "said": text, **turn})
    stages = {
        stage: percentiles([t["timings_ms"][stage] for t in turns if stage in t["timings_ms"]])
        for stage in STAGES
    }
    said_words = sum(len(normalise(t["said"]).split()) for t in turns)
    errors = sum(word_errors(t.get("transcript", ""), t["said"]) for t in turns)
    tiers = Counter(t.get("asr_tier", "none") for t in turns)
    routes = Counter(t["route"] for t in turns)
    by_tier = {
        tier: percentiles(
            [
                t["timings_ms"]["first_audio"]
                for t in turns
                if t.get("asr_tier") == tier and "first_audio" in t["timings_ms"]
            ]
        )
        for tier in tiers
    }
    return {
        "utterances": len(turns),
        "first_audio_by_asr_tier_ms": by_tier,
        # word errors of the transcripts against what was said, whichever tier decided
        "word_error_rate": round(errors / said_words, 3),
        "whisper_beam_size": pipeline.config.asr.whisper_beam_size,
        "stages_ms": stages,
        "asr_tiers": tiers,
        "routes": routes,
        "turns": turns,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--facts", type=Path, help="household facts in the standing prefix")
    args = parser.parse_args()
    out = args.out or results_path("bench_latency_facts" if args.facts else "bench_latency")
    config = load_config()
    config = dataclasses.replace(config, llm=dataclasses.replace(config.llm, facts_file=args.facts))
    snapshots = SnapshotStore(Path(tempfile.mkdtemp(prefix="sage-bench-")), 1 << 30)
    pipeline = Pipeline(
        config,
        ModelCache(config.paths.cache_dir),
        load_rules([DEFAULT_RULES]),
        NullSink(),
        snapshots=snapshots,
    )
    t0 = time.perf_counter()
    pipeline.preload()
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        pattern_clips = [("piper", t, piper_pcm(pipeline, t)) for t in PATTERN_PHRASES]
        pattern_clips += [
            ("espeak-ng", t, pcm)
            for t in PATTERN_PHRASES
            if (pcm := espeak_pcm(t, Path(tmp))) is not None
        ]
        llm_clips = [("piper", t, piper_pcm(pipeline, t)) for t in LLM_QUESTIONS]
    result = {
        "benchmark": "bench_latency",
        "machine": {**describe(), "platform": platform.platform()},
        "model_load_s": round(load_s, 2),
        "standing_facts": str(args.facts) if args.facts else None,
        "snapshots": True,
        "pattern": run_path(pipeline, pattern_clips),
        "llm": run_path(pipeline, llm_clips),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "segmenter": dataclasses.asdict(config.segmenter),
    }
    pipeline.close()
    save(result, out)
    summary = {
        path: {s: result[path]["stages_ms"][s].get("p50") for s in STAGES}  # type: ignore[index]
        for path in ("pattern", "llm")
    }
    print(json.dumps({"peak_rss_mb": result["peak_rss_mb"], "p50_ms": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
