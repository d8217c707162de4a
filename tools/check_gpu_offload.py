#!/usr/bin/env python3
"""On a CUDA host: does SAGE's ChatModel offload to the GPU, with the llama.cpp build that
tools/bootstrap makes there? Decodes one question with gpu_layers 0 and -1 (all layers).

    .venv/bin/python tools/check_gpu_offload.py MODEL.gguf [--out FILE.json]

Writes the GPU, what the build reports (llama_supports_gpu_offload, its system info), and
for each setting three timed answers: first token, decode tokens/s and the greedy text,
which should be the same on both.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import llama_cpp
from machine import results_path, save

from sage.cascade.chat import ChatModel
from sage.host import llama_gpu_offload, nvidia_gpus

MESSAGES = [
    {"role": "system", "content": "Answer in one short sentence."},
    {"role": "user", "content": "What is the capital of France?"},
]


def timed_answers(model: ChatModel, runs: int = 3) -> list[dict[str, object]]:
    list(model.stream(MESSAGES, 4))  # warm
    answers: list[dict[str, object]] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        first, pieces = 0.0, []
        for piece, _logprob in model.stream(MESSAGES, 64):
            first = first or time.perf_counter() - t0
            pieces.append(piece)
        decode_s = time.perf_counter() - t0 - first
        answers.append({
            "first_token_ms": round(first * 1000, 1),
            "tokens": len(pieces),
            "decode_tokens_per_s": round((len(pieces) - 1) / decode_s, 1),
            "text": "".join(pieces),
        })  # fmt: skip
    return answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--out", type=Path, default=results_path("gpu_offload"))
    args = parser.parse_args()
    result: dict[str, object] = {
        "gpus": nvidia_gpus(),
        "llama_gpu_offload": llama_gpu_offload(),
        "system_info": llama_cpp.llama_print_system_info().decode(),
    }
    for layers in (0, -1):
        model = ChatModel(args.model, 2048, 8, gpu_layers=layers, role="check")
        result[f"gpu_layers={layers}"] = timed_answers(model)
        model.close()
    save(result, args.out)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
