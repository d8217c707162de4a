#!/usr/bin/env python3
"""Export a catalog GGUF (the draft by default) to an ONNX next-token-logits graph.

    .venv/bin/python tools/export_draft_onnx.py [--role draft] [--out PATH]

transformers loads and de-quantises the GGUF into torch (float32); torch.onnx (dynamo)
writes the graph, weights in an external data file beside it. Default output:
<cache_dir>/onnx/<role>.onnx, where `[cascade] draft_backend = "onnx"` looks for it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sage.catalog import ModelCache
from sage.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def export(gguf_path: Path, out: Path) -> Path:
    """Write ``out`` (and its .data file) from ``gguf_path``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32
    )
    model.eval()

    class NextTokenLogits(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, use_cache=False).logits[:, -1, :]

    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.tensor([[1, 2, 3, 4, 5]], dtype=torch.long)
    sequence = torch.export.Dim("sequence", min=1, max=4096)
    torch.onnx.export(
        NextTokenLogits(model),
        (example,),
        str(out),
        input_names=["input_ids"],
        output_names=["logits"],
        dynamic_shapes={"input_ids": {1: sequence}},
        dynamo=True,
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="draft")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = load_config()
    gguf_path = ModelCache(config.paths.cache_dir).path(args.role)
    out = args.out or config.paths.cache_dir / "onnx" / f"{args.role}.onnx"
    print(export(gguf_path, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
