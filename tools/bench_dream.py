#!/usr/bin/env python3
"""DREAM on a synthetic day: before/after on the held-out slice, in one run.

    .venv/bin/python tools/bench_dream.py [--phrasings 4] [--out FILE]

The day is generated from the evaluation set (tools/eval/questions.toml, 52 checked
questions), each asked in --phrasings ways ("Hey, ...", "Quick question: ...", ...), so
208 turns by default. They go through the real pipeline (cascade, store, SNARC) with a
fresh memory; then one DREAM run (config [dream]: teacher = base, student = draft, and
at most [dream] modifiers domain modifiers on the base) selects, relabels, trains the
adapters, gates and promotes or rejects each ("students" in the JSON). The draft's gate
measures what the benchmark reports of speculation: the base decoding both validation
slices (held-out questions, and repeats: rephrasings of trained questions, never trained
on) with the draft proposing 4 tokens a step, as it was and with the trained adapter,
against the base alone: the share of proposals kept per slice, and tokens/s
("speculation"). Measured here on each slice, before and after (the adapter whether or
not the gate promoted it): the draft's answer checks, the share of the slice the draft
alone could serve (its answer passes the check and is not too unsure to speak) and its
mean NLL; and the DREAM run's time and the process's peak memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import describe, results_path, save

from sage.audio.io import NullSink
from sage.cascade.adapters import draft_adapter
from sage.cascade.calibration import Question, load_questions
from sage.cascade.chat import ChatModel, Uncertainty
from sage.catalog import ModelCache
from sage.config import PathsConfig, load_config
from sage.dream.distill import Distill
from sage.dream.dreamer import Dreamer
from sage.dream.gate import SPECULATION
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.pipeline import Pipeline
from sage.trust.store import Store

PHRASINGS = ["{q}", "Hey, {q}", "Quick question: {q}", "{q} Keep it short, please."]


def slice_figures(models: ModelCache, llm: Any, adapter: Path | None,
                  asked: list[tuple[str, Question]], unsure: Any) -> dict[str, Any]:  # fmt: skip
    """The draft alone without and with the trained adapter on one validation slice."""
    draft = ChatModel(models.path("draft"), llm.n_ctx, llm.threads, role="draft")
    before = draft_figures(draft, asked, llm.system_prompt, unsure)
    draft.use_adapter(adapter)
    after = draft_figures(draft, asked, llm.system_prompt, unsure)
    draft.close()
    return {"before": before, "after": after}


def draft_figures(model: ChatModel, asked: list[tuple[str, Question]], system: str, unsure: Any
                  ) -> dict[str, float]:  # fmt: skip
    served = checks = 0
    nll = []
    for prompt, question in asked:
        messages = [{"role": "system", "content": system},
                    {"role": "user", "content": prompt}]  # fmt: skip
        pieces = list(model.stream(messages, 64))
        answer = "".join(p for p, _ in pieces)
        stats = Uncertainty.of([lp for _, lp in pieces])
        passed = question.passes(answer)
        checks += passed
        served += passed and not unsure(stats)
        nll.append(stats.mean_nll)
    n = max(1, len(asked))
    return {"draft_checks": round(checks / n, 3), "draft_could_serve": round(served / n, 3),
            "draft_mean_nll": round(statistics.mean(nll), 4) if nll else 0.0}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phrasings", type=int, default=4, choices=range(1, 5))
    parser.add_argument("--out", type=Path, default=results_path("bench_dream"))
    args = parser.parse_args()
    config = load_config()
    state = Path(tempfile.mkdtemp(prefix="sage-bench-dream-"))
    config = dataclasses.replace(config, paths=PathsConfig(config.paths.cache_dir, state))
    models = ModelCache(config.paths.cache_dir)
    questions = load_questions()
    by_text: dict[str, Question] = {}
    store = Store(state / "sage.db")
    pipeline = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink(), store=store)
    t0 = time.perf_counter()
    tiers: dict[str, int] = {}
    for phrasing in PHRASINGS[: args.phrasings]:
        for question in questions:
            text = phrasing.format(q=question.text)
            by_text[text] = question
            turn = pipeline.ask(text)
            tiers[turn.tier] = tiers.get(turn.tier, 0) + 1
    day_s = time.perf_counter() - t0
    cascade = pipeline.responder()
    unsure = cascade.is_unsure  # type: ignore[attr-defined]
    pipeline.unload_llm()

    t0 = time.perf_counter()
    work = Distill(config, models, store, lambda: False)
    result = Dreamer(store, work, config.dream.max_lessons).run(lambda: False, time.time())
    work.close()
    dream_s = time.perf_counter() - t0
    run = store.dream_runs(1)[0]
    report = run["report"]
    students = report.get("students", {})
    promoted = bool(students.get("draft", {}).get("decision", {}).get("promoted"))
    trained = draft_adapter(config) if promoted else state / "dream/rejected-draft.gguf"
    adapter = trained if trained.exists() else None
    slices = {}
    for name in ("held_out", "repeats"):
        lessons = report.get("lessons", {}).get(name, [])
        asked = [(e["prompt"], by_text[e["prompt"]]) for e in lessons if e["prompt"] in by_text]
        figures = slice_figures(models, config.llm, adapter, asked, unsure)
        slices[name] = {"questions": len(asked), **figures}
    out = {
        "machine": describe(),
        "benchmark": "bench_dream",
        "turns": sum(tiers.values()),
        "tiers_during_the_day": tiers,
        "day_s": round(day_s, 1),
        "dream_status": result,
        "dream_s": round(dream_s, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "selected": len(report["selected"]),
        "held_out": len(report["held_out"]),
        "repeats": len(report.get("repeats", [])),
        "collapsed": report.get("collapsed"),
        "near_held_out": report.get("near_held_out"),
        "lessons": {k: len(v) for k, v in report.get("lessons", {}).items()},
        "dropped": report.get("dropped", {}),
        "students": students,
        "draft_before_after": slices,
        "speculation": {
            when: {key: scores[key] for key in SPECULATION if key in scores}
            for when, scores in students.get("draft", {}).get("scores", {}).items()
            if when in ("before", "after")
        },
        "targets": {"acceptance_gain_points": 10, "speculation_speedup": 1.2},
        "config": dataclasses.asdict(config.dream),
    }
    save(out, args.out)
    print(json.dumps(out, indent=2))
    pipeline.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
