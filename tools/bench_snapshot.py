#!/usr/bin/env python3
"""Time to first token with a ≥ 500-token standing context: cold, restored, after a restart.

    .venv/bin/python tools/bench_snapshot.py [--role base] [--runs 3]
                                             [--out FILE]

The standing context is SAGE's system prompt with the household facts of
tools/eval/household.md (about 740 tokens on the base model). Three ways to the first token of
the answer to one question, each measured --runs times on a freshly loaded model (model
loading itself is reported apart):

- cold: the whole prompt is evaluated;
- restored: the standing prefix is restored from its llama.cpp state file, then only the
  question is evaluated (the restore is inside the timing);
- after a restart: the same, in a new process, as after a daemon restart;
- whole prompt restored: the snapshot holds the standing prefix *and* the question (as a
  conversation snapshot does for what was already said), so only one token is replayed:
  the like-for-like figure with a measurement that snapshots the entire prompt.

It also checks that the restored model gives the same greedy answer as the cold one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import llama_cpp
from machine import describe, results_path, save

from sage.cascade.chat import ChatModel
from sage.catalog import ModelCache
from sage.config import Config, LlmConfig
from sage.metabolism.snapshots import SnapshotKey, SnapshotStore

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "When does the dishwasher's quiet programme start?"


def setup(role: str) -> tuple[Path, SnapshotKey, LlmConfig, list[dict[str, str]]]:
    config = Config()
    llm = LlmConfig(facts_file=ROOT / "tools" / "eval" / "household.md")
    cache = ModelCache(config.paths.cache_dir)
    key = SnapshotKey(cache.entry(role).sha256, llm.n_ctx, llama_cpp.__version__)
    standing = [{"role": "system", "content": llm.standing_prompt()}]
    return cache.path(role), key, llm, standing


def load(path: Path, llm: LlmConfig, role: str) -> tuple[ChatModel, float]:
    t0 = time.perf_counter()
    model = ChatModel(path, llm.n_ctx, llm.threads, role=role)
    return model, time.perf_counter() - t0


def first_token(model: ChatModel, messages: list[dict[str, str]]) -> tuple[float, str]:
    """Seconds to the first token, and the whole greedy answer."""
    t0 = time.perf_counter()
    ttft = None
    pieces = []
    for piece, _ in model.stream(messages, 32):
        if ttft is None:
            ttft = time.perf_counter() - t0
        pieces.append(piece)
    assert ttft is not None
    return ttft, "".join(pieces)


def restored_run(role: str, directory: Path, name: str = "prefix") -> dict[str, Any]:
    path, key, llm, standing = setup(role)
    model, load_s = load(path, llm, role)
    store = SnapshotStore(directory, 1 << 30)
    t0 = time.perf_counter()
    restored = store.load(name, key, model.load_state)
    restore_s = time.perf_counter() - t0
    assert restored is not None, "the snapshot did not load"
    ttft, answer = first_token(model, [*standing, {"role": "user", "content": QUESTION}])
    model.close()
    return {"load_s": load_s, "restore_s": restore_s, "ttft_s": restore_s + ttft,
            "answer": answer, "tokens": len(restored.tokens)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", default="base")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=results_path("bench_snapshot"))
    parser.add_argument("--restored-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.restored_child:
        print(json.dumps(restored_run(args.role, args.restored_child)))
        return 0

    path, key, llm, standing = setup(args.role)
    messages = [*standing, {"role": "user", "content": QUESTION}]
    directory = Path(tempfile.mkdtemp(prefix="sage-bench-snapshot-"))
    cold, restored, restarted = [], [], []
    cold_answer = ""
    for _ in range(args.runs):
        model, load_s = load(path, llm, args.role)
        ttft, cold_answer = first_token(model, messages)
        cold.append({"load_s": load_s, "ttft_s": ttft})
        model.close()
    model, _ = load(path, llm, args.role)
    standing_tokens = len(model.prompt_tokens(standing)[0])
    model.warm(standing)
    t0 = time.perf_counter()
    SnapshotStore(directory, 1 << 30).save("prefix", key, model.save_state)
    save_s = time.perf_counter() - t0
    model.warm(messages)
    SnapshotStore(directory, 1 << 30).save("prompt", key, model.save_state)
    model.close()
    whole = [restored_run(args.role, directory, "prompt") for _ in range(args.runs)]
    size = (directory / "prefix.state").stat().st_size
    for _ in range(args.runs):
        restored.append(restored_run(args.role, directory))
        child = subprocess.run(
            [sys.executable, __file__, "--role", args.role, "--restored-child", str(directory)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        restarted.append(json.loads(child.stdout.strip().splitlines()[-1]))

    def median(rows: list[dict[str, Any]], key: str) -> float:
        return round(statistics.median(row[key] for row in rows), 4)

    cold_ttft = median(cold, "ttft_s")
    result = {
        "machine": describe(),
        "cpus": len(__import__("os").sched_getaffinity(0)),
        "model": path.name,
        "threads": llm.threads,
        "standing_tokens": standing_tokens,
        "question": QUESTION,
        "runs": args.runs,
        "cold_ttft_s": cold_ttft,
        "restored_ttft_s": median(restored, "ttft_s"),
        "restart_ttft_s": median(restarted, "ttft_s"),
        "whole_prompt_restored_ttft_s": median(whole, "ttft_s"),
        "speedup_whole_prompt": round(cold_ttft / median(whole, "ttft_s"), 1),
        "restore_s": median(restored, "restore_s"),
        "model_load_s": median(cold, "load_s"),
        "snapshot_bytes": size,
        "save_s": round(save_s, 4),
        "speedup_restored": round(cold_ttft / median(restored, "ttft_s"), 1),
        "speedup_restart": round(cold_ttft / median(restarted, "ttft_s"), 1),
        "same_greedy_answer": all(r["answer"] == cold_answer for r in restored + restarted + whole),
        "answer": cold_answer,
        "target_speedup": 50,
        "raw": {"cold": cold, "restored": restored, "restart": restarted, "whole": whole},
    }
    save(result, args.out)
    print(json.dumps({k: v for k, v in result.items() if k != "raw"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
