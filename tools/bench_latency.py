#!/usr/bin/env python3
"""Latency of the voice loop per path, on generated speech, with the daemon's warm models.

For each path (pattern rules, LLM) at least 20 utterances are spoken by Piper (and the
pattern phrases also by espeak-ng), segmented by the real VAD and answered by the real
pipeline into a null sink. Writes JSON with p50/p95 of every stage and of end-of-speech →
first reply audio, the share of ASR tiers, and peak RSS.

    .venv/bin/python tools/bench_latency.py [--out tools/results/bench_latency.json]
                                            [--facts tools/eval/household.md]

As the daemon runs: KV-cache snapshots on (in a temporary directory: the first load is
cold, the standing prefix is snapshotted and stays in the cache for every turn). With
--facts the standing prefix carries that household-facts file (about 740 tokens with the
shipped one), as a configured home would.

"first_audio" starts when the segmenter hands over the utterance; the segmenter's
hang-over (config segmenter.hangover_ms) comes on top of it in live microphone use.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from sage.audio.io import NullSink
from sage.audio.segmenter import Segmenter
from sage.audio.wav import PcmAudio, read_wav, to_pcm16_mono
from sage.catalog import ModelCache
from sage.config import load_config
from sage.metabolism.snapshots import SnapshotStore
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent

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
STAGES = ("vad", "asr", "match", "llm_first_token", "tts_first_audio", "first_audio")


def piper_pcm(pipeline: Pipeline, text: str) -> bytes:
    chunks = list(pipeline.speaker.speak(text))
    rate = chunks[0].sample_rate
    audio = np.concatenate([np.frombuffer(c.pcm, np.int16) for c in chunks]).astype(np.float32)
    pad = np.zeros(int(rate * 0.5), np.float32)
    samples = np.concatenate([pad, audio / 32768.0, pad])[:, None]
    return to_pcm16_mono(PcmAudio(samples, rate))


def espeak_pcm(text: str, workdir: Path) -> bytes | None:
    if shutil.which("espeak-ng") is None:
        return None
    wav = workdir / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), text], check=True)
    silence = b"\x00\x00" * 8000
    return silence + read_wav(wav) + silence


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(statistics.median(values), 1),
        "p95": round(float(np.percentile(values, 95)), 1),
        "n": len(values),
    }


def run_path(pipeline: Pipeline, clips: list[tuple[str, str, bytes]]) -> dict[str, object]:
    turns: list[dict[str, Any]] = []
    for voice, text, pcm in clips:
        segmenter = Segmenter(pipeline.config.segmenter)
        utterances = list(segmenter.push(pcm)) + list(segmenter.flush())
        if not utterances:
            turns.append({"voice": voice, "said": text, "route": "none", "timings_ms": {}})
            continue
        turn = pipeline.hear(utterances[0], segmenter.vad_seconds * 1000)
        turns.append({"voice": voice, "said": text, **turn.to_json()})
    stages = {
        stage: percentiles([t["timings_ms"][stage] for t in turns if stage in t["timings_ms"]])
        for stage in STAGES
    }
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
        "stages_ms": stages,
        "asr_tiers": tiers,
        "routes": routes,
        "turns": turns,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "tools" / "results" / "bench_latency.json"
    )
    parser.add_argument("--facts", type=Path, help="household facts in the standing prefix")
    args = parser.parse_args()
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
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "model_load_s": round(load_s, 2),
        "standing_facts": str(args.facts) if args.facts else None,
        "snapshots": True,
        "pattern": run_path(pipeline, pattern_clips),
        "llm": run_path(pipeline, llm_clips),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "segmenter_hangover_ms": config.segmenter.hangover_ms,
    }
    pipeline.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    summary = {
        path: {s: result[path]["stages_ms"][s].get("p50") for s in STAGES}  # type: ignore[index]
        for path in ("pattern", "llm")
    }
    print(json.dumps({"peak_rss_mb": result["peak_rss_mb"], "p50_ms": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
