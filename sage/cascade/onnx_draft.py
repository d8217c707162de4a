"""The draft model on onnxruntime, with the best execution provider the host has.

TensorRT → CUDA → CPU, in that order, whichever this onnxruntime build and host offer. The
ONNX file is exported from the draft GGUF by ``tools/export_draft_onnx.py`` (transformers
loads the GGUF into torch; torch.onnx writes one decoding step with a KV cache). The cache
of the last proposal is kept: the next one evaluates only the tokens after the longest
prefix the two share, as llama.cpp's draft does. The cache lives in host memory, so on a
GPU each step copies it across (about 25 KB a token for the 0.5B draft).
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
INPUTS = ("input_ids", "past_keys", "past_values")


def choose_providers(available: Sequence[str]) -> list[str]:
    """The preferred providers this onnxruntime offers, best first (CPU always last)."""
    chosen = [p for p in PREFERENCE if p in available]
    return chosen if "CPUExecutionProvider" in chosen else [*chosen, "CPUExecutionProvider"]


def shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class OnnxDraft(CountingProposer):
    """Greedy draft proposals from an exported ONNX decoding step."""

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
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        if tuple(inputs) != INPUTS:
            raise ModelError(f"{path} is not a decoding step with a KV cache (inputs "
                             f"{list(inputs)}); run `{EXPORT_COMMAND}` again")  # fmt: skip
        layers, batch, heads, _, head_dim = inputs["past_keys"]
        self._empty = np.zeros((layers, batch, heads, 0, head_dim), dtype=np.float32)
        self.reset()
        _LOGGER.info("ONNX draft %s on %s", path.name, self.session.get_providers()[0])

    def reset(self) -> None:
        """Forget the cached tokens."""
        self.cached: list[int] = []
        """The tokens whose keys and values the cache holds, in order."""
        self._keys = self._values = self._empty

    def _step(self, new: list[int]) -> int:
        """Evaluate ``new`` after the cached tokens; the greedy next token."""
        logits, self._keys, self._values = self.session.run(
            None, {"input_ids": np.array([new], dtype=np.int64),
                   "past_keys": self._keys, "past_values": self._values},
        )  # fmt: skip
        self.cached.extend(new)
        return int(np.argmax(logits[0]))

    def propose(self, input_ids: list[int]) -> list[int]:
        """``k`` greedy tokens; the cache is cut back to the prefix shared with the last call
        (at least one token is evaluated, since its logits are the first proposal's)."""
        keep = min(shared_prefix(self.cached, input_ids), len(input_ids) - 1)
        self.cached = self.cached[:keep]
        self._keys, self._values = self._keys[:, :, :, :keep], self._values[:, :, :, :keep]
        proposal = [self._step(list(input_ids[keep:]))]
        while len(proposal) < self.k:
            proposal.append(self._step(proposal[-1:]))
        return proposal
