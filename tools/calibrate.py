#!/usr/bin/env python3
"""Calibrate the cascade's escalation thresholds on the labelled evaluation set.

    .venv/bin/python tools/calibrate.py [--role draft] [--out FILE]

Prints the chosen thresholds (paste them into the [cascade] section of the config), the
balanced accuracy of "unsure" as a predictor of a wrong answer, and the expected
calibration error of the model's confidence; then the same figures held out (4-fold: each
question judged by thresholds fitted without it), and those of the configured thresholds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from machine import describe, results_path, save

from sage.cascade.calibration import answer_all, calibrate, load_questions, report
from sage.cascade.chat import ChatModel
from sage.catalog import ModelCache
from sage.config import load_config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="draft", help="catalog role of the model to calibrate")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N questions")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = load_config()
    questions = load_questions()
    if args.limit:
        questions = questions[: args.limit]
    path = ModelCache(config.paths.cache_dir).path(args.role)
    model = ChatModel(path, config.llm.n_ctx, config.llm.threads, role=args.role)
    try:
        samples = answer_all(model, questions, config.llm.system_prompt, config.llm.max_tokens)
    finally:
        model.close()
    configured = (config.cascade.escalate_low_prob, config.cascade.escalate_mean_nll)
    result = {"machine": describe(), **report(calibrate(samples), samples, configured)}
    out = args.out or results_path(f"calibration_{args.role}")
    save(result, out)
    shown = ("calibration", "held_out", "configured")
    print(json.dumps({key: result[key] for key in shown}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
