#!/usr/bin/env python3
"""Export a catalog GGUF (the draft by default) to an ONNX decoding step with a KV cache.

    .venv/bin/python tools/export_draft_onnx.py [--role draft] [--out PATH]

transformers loads and de-quantises the GGUF into torch (float32); torch.onnx (dynamo)
writes the graph, weights in an external data file beside it. Default output:
<cache_dir>/onnx/<role>.onnx, where `[cascade] draft_backend = "onnx"` looks for it.

The graph is one decoding step: ``input_ids`` [1, new] and the cache of the tokens before
them, ``past_keys`` / ``past_values`` [layers, 1, kv_heads, past, head_dim] (past may be
0), in; the next-token ``logits`` [1, vocabulary] and the cache extended by the new
tokens, ``keys`` / ``values``, out. Positions follow from the cache's length.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sage.catalog import ModelCache
from sage.config import load_config


def export(gguf_path: Path, out: Path) -> Path:
    """Write ``out`` (and its .data file) from ``gguf_path``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, DynamicCache

    model = AutoModelForCausalLM.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32
    )
    model.eval()
    text = model.config.get_text_config()
    layers, kv_heads = text.num_hidden_layers, text.num_key_value_heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads

    class DecodingStep(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self, input_ids: torch.Tensor, past_keys: torch.Tensor, past_values: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            past = past_keys.shape[3]
            cache = DynamicCache(ddp_cache_data=list(zip(past_keys, past_values, strict=True)))
            positions = torch.arange(past, past + input_ids.shape[1]).unsqueeze(0)
            outputs = self.inner(
                input_ids=input_ids, past_key_values=cache, position_ids=positions, use_cache=True
            )
            grown = outputs.past_key_values.layers
            keys = torch.stack([layer.keys for layer in grown])
            values = torch.stack([layer.values for layer in grown])
            return outputs.logits[:, -1, :], keys, values

    out.parent.mkdir(parents=True, exist_ok=True)
    example_ids = torch.tensor([[1, 2, 3, 4, 5]], dtype=torch.long)
    example_past = torch.zeros(layers, 1, kv_heads, 3, head_dim)
    sequence = torch.export.Dim("sequence", min=1, max=4096)
    past = torch.export.Dim("past", min=0, max=4096)
    torch.onnx.export(
        DecodingStep(model).eval(),
        (example_ids, example_past, example_past.clone()),
        str(out),
        input_names=["input_ids", "past_keys", "past_values"],
        output_names=["logits", "keys", "values"],
        dynamic_shapes={
            "input_ids": {1: sequence},
            "past_keys": {3: past},
            "past_values": {3: past},
        },
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
