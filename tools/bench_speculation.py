#!/usr/bin/env python3
"""Speculative decoding on this host: the base alone vs the base with the draft proposing.

    .venv/bin/python tools/bench_speculation.py [--out FILE]
        [--onnx PATH]   # propose with the ONNX export (tools/export_draft_onnx.py) instead

Both runs in the same process on the same prompts (code and prose questions from the
evaluation set, the spoken system prompt): time to first token, decoding tokens/s after
the first token, draft acceptance, and whether the text came out the same. Also records
what `[cascade] speculation = "auto"` resolves to here, and what a round of speculation
costs on this host: k draft steps and the base verifying a batch of k + 1 tokens,
against one plain base step. A round yields the accepted proposals plus the base's own
next token, 1 + k * acceptance tokens, so the speed-up is
(1 + k * acceptance) * base step / round, and the acceptance that breaks even, or
reaches 1.2x, follows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from machine import describe, results_path, save

from sage.cascade.calibration import load_questions
from sage.cascade.chat import ChatModel
from sage.cascade.llama_thread import on_llama_thread
from sage.cascade.onnx_draft import OnnxDraft
from sage.cascade.speculation import DraftProposer, resolve_mode
from sage.catalog import ModelCache
from sage.config import Config, load_config
from sage.host import llama_gpu_offload


def decode(model: ChatModel, messages: list[dict[str, str]], max_tokens: int) -> dict[str, Any]:
    model.llm.reset()  # a cold prompt for both runs
    t0 = time.perf_counter()
    first = None
    pieces = []
    for piece, _ in model.stream(messages, max_tokens):
        first = first if first is not None else time.perf_counter() - t0
        pieces.append(piece)
    total = time.perf_counter() - t0
    decoding = total - (first or 0.0)
    return {
        "first_token_s": round(first or 0.0, 3),
        "tokens": len(pieces),
        "tokens_per_s": round((len(pieces) - 1) / decoding, 2) if decoding > 0 else None,
        "text": "".join(pieces),
    }


def eval_ms(model: ChatModel, context: list[int], batch: int) -> float:
    """Median time for ``model`` to evaluate ``batch`` tokens after ``context`` (on the
    llama.cpp thread, as every call is: a second calling thread slows all of them)."""

    def timed() -> float:
        model.llm.reset()
        model.llm.eval(context)
        t0 = time.perf_counter()
        model.llm.eval(context[:batch])
        return (time.perf_counter() - t0) * 1000

    return round(statistics.median(on_llama_thread(timed) for _ in range(5)), 1)


def round_costs(config: Config, models: ModelCache, k: int) -> dict[str, Any]:
    """A speculation round's parts on this host, and the acceptance it would need."""
    llm = config.llm
    base = ChatModel(models.path("base"), llm.n_ctx, llm.threads, role="base", all_logits=True)
    draft = ChatModel(models.path("draft"), llm.n_ctx, llm.threads, role="draft")
    context, _ = base.prompt_tokens([{"role": "system", "content": llm.system_prompt}])
    costs = {
        "base_step_ms": eval_ms(base, context, 1),
        "base_verify_ms": eval_ms(base, context, k + 1),
        "draft_step_ms": eval_ms(draft, context, 1),
    }
    base.close()
    draft.close()
    round_ms = round(k * costs["draft_step_ms"] + costs["base_verify_ms"], 1)

    def needed(speedup: float) -> float | None:
        """The share of proposals kept that gives ``speedup`` (None: out of reach)."""
        acceptance = (speedup * round_ms / costs["base_step_ms"] - 1) / k
        return round(acceptance, 3) if acceptance <= 1 else None

    return {
        **costs,
        "round_ms": round_ms,
        "most_with_every_proposal_kept": round((1 + k) * costs["base_step_ms"] / round_ms, 2),
        "acceptance_to_break_even": needed(1.0),
        "acceptance_for_1_2x": needed(1.2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--onnx", type=Path, help="an ONNX export of the draft to propose with")
    args = parser.parse_args()
    config = load_config()
    models = ModelCache(config.paths.cache_dir)
    questions = [q for q in load_questions() if q.domain in ("code", "general")]
    prompts = [q.text for q in questions if q.domain == "code"][:3]
    prompts += [q.text for q in questions if q.domain == "general"][:3]
    costs = None if args.onnx else round_costs(config, models, args.k)
    llm = config.llm
    draft = ChatModel(models.path("draft"), llm.n_ctx, llm.threads, role="draft")
    plain = ChatModel(models.path("base"), llm.n_ctx, llm.threads, role="base")
    proposer = OnnxDraft(args.onnx, args.k) if args.onnx else DraftProposer(draft.llm, args.k)
    speculative = ChatModel(
        models.path("base"), llm.n_ctx, llm.threads, role="base", draft=proposer
    )
    rows = []
    for prompt in prompts:
        messages = [{"role": "system", "content": llm.system_prompt},
                    {"role": "user", "content": prompt}]  # fmt: skip
        before = (proposer.proposed, proposer.accepted)
        a = decode(plain, messages, 64)
        b = decode(speculative, messages, 64)
        proposed, accepted = proposer.proposed - before[0], proposer.accepted - before[1]
        rows.append({
            "prompt": prompt, "plain": a, "speculative": b,
            "acceptance": round(accepted / proposed, 3) if proposed else None,
            "same_text": a["text"] == b["text"],
        })  # fmt: skip
    for model in (speculative, plain, draft):
        model.close()

    def median(key: str, mode: str) -> float:
        return round(statistics.median(r[mode][key] for r in rows if r[mode][key]), 3)

    result = {
        "benchmark": "bench_speculation",
        "machine": describe(),
        "k": args.k,
        "proposer": f"onnx on {proposer.session.get_providers()[0]}"
        if isinstance(proposer, OnnxDraft)
        else "gguf (llama.cpp)",
        "auto_resolves_to": resolve_mode("auto", llama_gpu_offload()),
        "plain_tokens_per_s_p50": median("tokens_per_s", "plain"),
        "speculative_tokens_per_s_p50": median("tokens_per_s", "speculative"),
        "plain_first_token_s_p50": median("first_token_s", "plain"),
        "speculative_first_token_s_p50": median("first_token_s", "speculative"),
        "acceptance_p50": round(statistics.median(r["acceptance"] or 0 for r in rows), 3),
        "same_text": sum(r["same_text"] for r in rows),
        "prompts": len(rows),
        "rows": rows,
    }
    result["speedup"] = round(
        result["speculative_tokens_per_s_p50"] / result["plain_tokens_per_s_p50"], 3
    )
    if costs:
        result["round"] = costs
    out = args.out or results_path("bench_speculation_onnx" if args.onnx else "bench_speculation")
    save(result, out)
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
