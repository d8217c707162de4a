"""The draft model on onnxruntime, with the best execution provider the host has.

TensorRT → CUDA → CPU, in that order, whichever this onnxruntime build and host offer. The
ONNX file is exported from the draft GGUF by ``tools/export_draft_onnx.py`` (transformers
loads the GGUF into torch; torch.onnx writes one decoding step with a KV cache). The cache
of the last proposal is kept: the next one evaluates only the tokens after the longest
prefix the two share, as llama.cpp's draft does. The cache lives in host memory, so on a
GPU each step copies it across (about 25 KB a token for the 0.5B draft).

TensorRT is given one optimisation profile that covers every shape a turn produces (else
it builds an engine for each new cache length), keeps the built engine on disk beside the
export (built once per host), and computes in FP16: the draft only proposes, and the base
decides every token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from llama_cpp import Llama

from sage.cascade.speculation import CountingProposer
from sage.errors import ModelError
from sage.host import onnx_session_options, preload_cuda

_LOGGER = logging.getLogger(__name__)

PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
EXPORT_COMMAND = ".venv/bin/python tools/export_draft_onnx.py"
INPUTS = ("input_ids", "past_keys", "past_values")
TYPICAL_PAST = 256
"""The cache length TensorRT tunes its kernels for: a standing prompt and a short turn."""


def choose_providers(available: Sequence[str]) -> list[str]:
    """The preferred providers this onnxruntime offers, best first (CPU always last)."""
    chosen = [p for p in PREFERENCE if p in available]
    return chosen if "CPUExecutionProvider" in chosen else [*chosen, "CPUExecutionProvider"]


def cache_shape(path: Path) -> tuple[int, int, int]:
    """(layers, kv_heads, head_dim) of an export's cache, read from its graph alone."""
    import onnx

    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as exc:  # onnx raises DecodeError and others for a damaged file
        raise ModelError(f"cannot read {path} ({exc}); run `{EXPORT_COMMAND}`") from exc
    inputs = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
    if tuple(inputs) != INPUTS:
        raise ModelError(f"{path} is not a decoding step with a KV cache (inputs "
                         f"{list(inputs)}); run `{EXPORT_COMMAND}` again")  # fmt: skip
    layers, _, heads, _, head_dim = inputs["past_keys"]
    return layers, heads, head_dim


def tensorrt_options(
    shape: tuple[int, int, int], max_tokens: int, engine_dir: Path
) -> dict[str, str]:
    """TensorRT settings for the decoding step (the module docstring says why)."""
    layers, heads, head_dim = shape

    def shapes(new: int, past: int) -> str:
        cache = f"{layers}x1x{heads}x{past}x{head_dim}"
        return f"input_ids:1x{new},past_keys:{cache},past_values:{cache}"

    return {
        "trt_profile_min_shapes": shapes(1, 0),
        "trt_profile_opt_shapes": shapes(1, TYPICAL_PAST),
        "trt_profile_max_shapes": shapes(max_tokens, max_tokens),
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(engine_dir),
        "trt_fp16_enable": "True",
    }


shared_prefix = Llama.longest_token_prefix
"""Length of the longest common prefix of two token lists (llama.cpp's own prefix match)."""


class OnnxDraft(CountingProposer):
    """Greedy draft proposals from an exported ONNX decoding step."""

    def __init__(
        self,
        path: Path,
        k: int = 4,
        enabled: Callable[[], bool] = lambda: True,
        max_tokens: int = 2048,
        available: Sequence[str] | None = None,
    ) -> None:
        """``available``: the providers to choose from (by default all this onnxruntime
        offers; ``["CPUExecutionProvider"]`` keeps the draft on the CPU)."""
        super().__init__(k, enabled)
        import onnxruntime

        if not path.is_file():
            raise ModelError(f"no ONNX draft at {path}; run `{EXPORT_COMMAND}`")
        shape = cache_shape(path)
        chosen = choose_providers(
            onnxruntime.get_available_providers() if available is None else available
        )
        if "CUDAExecutionProvider" in chosen:
            preload_cuda()
        self.providers: list[str | tuple[str, dict[str, str]]] = [
            (p, tensorrt_options(shape, max_tokens, path.parent / "tensorrt"))
            if p == "TensorrtExecutionProvider" else p
            for p in chosen
        ]  # fmt: skip
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), sess_options=onnx_session_options(), providers=self.providers
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"cannot load {path} ({exc}); run `{EXPORT_COMMAND}`") from exc
        layers, heads, head_dim = shape
        self._empty = np.zeros((layers, 1, heads, 0, head_dim), dtype=np.float32)
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
