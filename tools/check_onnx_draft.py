#!/usr/bin/env python3
"""Does the ONNX draft run on the best execution provider this host has, and propose what
the CPU provider and llama.cpp's GGUF draft propose?

    .venv/bin/python tools/check_onnx_draft.py [--role draft] [--onnx PATH] [--out FILE.json]

Exports the role's GGUF first where PATH does not exist (tools/export_draft_onnx.py). For
the host's providers (TensorRT → CUDA → CPU) and for the CPU provider alone, and for the
GGUF draft in llama.cpp (offloaded where its build can): the provider the session really
runs on, 8 greedy proposals per prompt, how many agree with llama.cpp's before the first
difference, and the time to propose from a cold cache (the prompt and 8 tokens) and per
token from a warm one (median of five).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import onnxruntime
from machine import results_path, save

from sage.cascade.chat import ChatModel
from sage.cascade.onnx_draft import OnnxDraft, shared_prefix
from sage.cascade.speculation import CountingProposer, DraftProposer
from sage.catalog import ModelCache
from sage.config import load_config
from sage.host import llama_gpu_offload, nvidia_gpus

K = 8
PROMPTS = ["What colour is the sky?", "Write a Python function that adds two numbers.",
           "Name three fruits.", "How do I restart nginx?"]  # fmt: skip


def median_ms(run: Callable[[], None], times: int = 5) -> float:
    spent = []
    for _ in range(times):
        t0 = time.perf_counter()
        run()
        spent.append(time.perf_counter() - t0)
    return round(statistics.median(spent) * 1000, 2)


def measure(
    proposer: CountingProposer, prompts: list[list[int]], reset: Callable[[], None]
) -> tuple[list[list[int]], dict[str, object]]:
    """One proposer's proposals for ``prompts``, and its timings."""
    proposals = [proposer.propose(ids) for ids in prompts]
    cold, warm = [], []
    for ids, proposal in zip(prompts, proposals, strict=True):

        def from_cold(ids: list[int] = ids) -> None:
            reset()
            proposer.propose(ids)

        def one_new_token(grown: list[int] = ids + proposal) -> None:
            proposer.propose(grown)  # speculation's next call: one new token, then K - 1

        cold.append(median_ms(from_cold))
        warm.append(round(median_ms(one_new_token) / K, 2))
    return proposals, {"proposals": proposals, "cold_proposal_ms": cold,
                       "warm_ms_per_token": warm}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="draft")
    parser.add_argument("--onnx", type=Path)
    parser.add_argument("--out", type=Path, default=results_path("onnx_draft"))
    args = parser.parse_args()
    config = load_config()
    onnx_path = args.onnx or config.paths.cache_dir / "onnx" / f"{args.role}.onnx"
    if not onnx_path.is_file():
        export = [sys.executable, "tools/export_draft_onnx.py", "--role", args.role,
                  "--out", str(onnx_path)]  # fmt: skip
        subprocess.run(export, check=True)
    gguf = ChatModel(ModelCache(config.paths.cache_dir).path(args.role), 1024,
                     config.llm.threads, config.llm.gpu_layers, role=args.role)  # fmt: skip
    prompts = [gguf.prompt_tokens([{"role": "user", "content": p}])[0] for p in PROMPTS]
    reference, llama = measure(DraftProposer(gguf.llm, k=K), prompts, gguf.llm.reset)
    result: dict[str, object] = {
        "gpus": nvidia_gpus(),
        "onnxruntime": onnxruntime.__version__,
        "available_providers": onnxruntime.get_available_providers(),
        "llama_gpu_offload": llama_gpu_offload(),
        "gguf_draft (llama.cpp)": llama,
    }
    cpu_only = ["CPUExecutionProvider"]
    for label, available in (("host's providers", None), ("CPU provider", cpu_only)):
        draft = OnnxDraft(onnx_path, k=K, available=available)
        proposals, timings = measure(draft, prompts, draft.reset)
        agreed = sum(map(shared_prefix, proposals, reference))  # before each first difference
        result[f"onnx_draft ({label})"] = {
            "session_providers": draft.session.get_providers(),
            "agreed_with_gguf": f"{agreed}/{K * len(prompts)}",
            **timings,
        }
    gguf.close()
    save(result, args.out)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
