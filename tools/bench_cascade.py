#!/usr/bin/env python3
"""The cascade against the base model alone, on the labelled evaluation set, in one run.

    .venv/bin/python tools/bench_cascade.py [--out FILE]

The set (tools/eval/questions.toml, 52 questions in four domains) is asked as text three
times: twice through the full cascade with a fresh memory (round 1 starts with no history,
so most requests are novel and go to the base; round 2 is the same household a little
later, when the kinds of request are known), and once through the base model alone,
question by question in turn with round 2 (:func:`interleaved`).
Every reply is spoken by Piper into a null sink, so first audio is real. Writes the share
of turns per tier, first-audio latency per tier, tokens/s, escalations and checks passed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from machine import describe, results_path, save

from sage.audio.io import NullSink
from sage.cascade.calibration import Question, load_questions
from sage.catalog import ModelCache
from sage.config import Config, load_config
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.pipeline import Pipeline
from sage.trust.store import Store


def run(pipeline: Pipeline, questions: list[Question]) -> list[dict[str, Any]]:
    rows = []
    for question in questions:
        turn = pipeline.ask(question.text)
        rows.append(
            {
                "question": question.text,
                "domain": question.domain,
                "tier": turn.tier,
                "escalated_from": turn.escalated_from,
                "context": turn.context,
                "passed": question.passes(turn.reply),
                "reply": turn.reply,
                "first_audio_ms": turn.timings_ms.get("first_audio"),
                "llm_first_token_ms": turn.timings_ms.get("llm_first_token"),
                "tokens": turn.uncertainty.get("tokens", 0),
                "llm_total_ms": turn.timings_ms.get("llm_total"),
            }
        )
    return rows


def interleaved(
    one: Pipeline, other: Pipeline, questions: list[Question]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Both pipelines on each question in turn, the one to go first alternating: a 2-core
    guest's speed drifts by some 10 % over minutes, and a drift must not fall on one side
    only (run one after the other, the same code gave 0.63x and 0.77x)."""
    rows: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    for n, question in enumerate(questions):
        for side in (0, 1) if n % 2 == 0 else (1, 0):
            rows[side].extend(run((one, other)[side], [question]))
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def median(values: list[float]) -> float | None:
        return round(statistics.median(values), 1) if values else None

    tiers = Counter(r["tier"] for r in rows)
    per_tier = {}
    for tier in tiers:
        mine = [r for r in rows if r["tier"] == tier]
        speed = [
            r["tokens"] / (r["llm_total_ms"] / 1000)
            for r in mine
            if r["tokens"] and r["llm_total_ms"]
        ]
        per_tier[tier] = {
            "share": round(len(mine) / len(rows), 3),
            "first_audio_ms_p50": median(
                [r["first_audio_ms"] for r in mine if r["first_audio_ms"]]
            ),
            "tokens_per_s": median(speed),
        }
    first_audio = [r["first_audio_ms"] for r in rows if r["first_audio_ms"]]
    return {
        "turns": len(rows),
        "checks_passed": sum(r["passed"] for r in rows),
        "first_audio_ms_p50": median(first_audio),
        "first_audio_ms_p90": (
            round(statistics.quantiles(first_audio, n=10)[-1], 1) if len(first_audio) > 1 else None
        ),
        "escalations": sum(1 for r in rows if r["escalated_from"]),
        "tiers": per_tier,
    }


def pipeline(config: Config, store: Store | None) -> Pipeline:
    pipe = Pipeline(config, ModelCache(config.paths.cache_dir), load_rules([DEFAULT_RULES]),
                    NullSink(), store=store)  # fmt: skip
    pipe.preload()
    return pipe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=results_path("bench_cascade"))
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    config = load_config()
    questions = load_questions()[: args.limit or None]
    result: dict[str, Any] = {
        "benchmark": "bench_cascade",
        "machine": describe(),
        "questions": len(questions),
    }
    base_config = dataclasses.replace(
        config, cascade=dataclasses.replace(config.cascade, draft_role="")
    )
    with tempfile.TemporaryDirectory() as tmp:
        cascade = pipeline(config, Store(Path(tmp) / "bench.db"))
        base = pipeline(base_config, None)
        round_1 = run(cascade, questions)
        round_2, base_rows = interleaved(cascade, base, questions)
        rounds = [round_1, round_2]
        base.close()
        cascade.close()
    result["cascade_round_1"] = summary(rounds[0])
    result["cascade_round_2"] = summary(rounds[1])
    result["base_only"] = summary(base_rows)
    for name in ("cascade_round_1", "cascade_round_2"):
        ours, theirs = result[name], result["base_only"]
        result[name]["first_audio_vs_base_only"] = round(
            ours["first_audio_ms_p50"] / theirs["first_audio_ms_p50"], 3
        )
        result[name]["checks_vs_base_only"] = round(
            ours["checks_passed"] / max(1, theirs["checks_passed"]), 3
        )
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["rows"] = {
        "cascade_round_1": rounds[0],
        "cascade_round_2": rounds[1],
        "base_only": base_rows,
    }
    save(result, args.out)
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
