"""The draft model on onnxruntime, with the best execution provider the host has.

TensorRT → CUDA → CPU, in that order, whichever this onnxruntime build and host offer. The
ONNX file is exported from the draft GGUF by ``tools/export_draft_onnx.py`` (transformers
loads the GGUF into torch; torch.onnx writes a next-token-logits graph). The graph has no
KV cache: each proposal step runs the whole sequence, which is fine for short spoken turns
on an accelerator and is what the CPU agreement test runs here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from sage.cascade.speculation import CountingProposer
from sage.errors import ModelError

_LOGGER = logging.getLogger(__name__)

PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
EXPORT_COMMAND = ".venv/bin/python tools/export_draft_onnx.py"


def choose_providers(available: Sequence[str]) -> list[str]:
    """The preferred providers this onnxruntime offers, best first (CPU always last)."""
    chosen = [p for p in PREFERENCE if p in available]
    return chosen if "CPUExecutionProvider" in chosen else [*chosen, "CPUExecutionProvider"]


class OnnxDraft(CountingProposer):
    """Greedy draft proposals from an ONNX next-token-logits graph."""

    def __init__(self, path: Path, k: int = 4, enabled: Callable[[], bool] = lambda: True) -> None:
        super().__init__(k, enabled)
        import onnxruntime

        if not path.is_file():
            raise ModelError(f"no ONNX draft at {path}; run `{EXPORT_COMMAND}`")
        self.providers = choose_providers(onnxruntime.get_available_providers())
        try:
            self.session = onnxruntime.InferenceSession(str(path), providers=self.providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"cannot load {path} ({exc}); run `{EXPORT_COMMAND}`") from exc
        _LOGGER.info("ONNX draft %s on %s", path.name, self.session.get_providers()[0])

    def propose(self, input_ids: list[int]) -> list[int]:
        """``k`` greedy tokens, one full forward pass each."""
        ids = list(input_ids)
        proposal: list[int] = []
        for _ in range(self.k):
            logits = self.session.run(None, {"input_ids": np.array([ids], dtype=np.int64)})[0]
            token = int(np.argmax(logits[0]))
            proposal.append(token)
            ids.append(token)
        return proposal
