"""A GGUF chat model with greedy streaming and a log-probability for every token.

The prompt is built with the model's own chat template (from the GGUF metadata), and
tokens come from ``Llama.generate``. Each token's log-probability is read from the very
logits row the sampler picked it from, in llama.cpp's output buffer (the last row, or
the row of its position in a batch of verified proposals): no second pass, no
``echo=True`` (whose log-probs are misaligned by one position), and no Python logits
processor (which copies the whole row out and back for every token).

Every llama.cpp computation runs on one thread (:mod:`sage.cascade.llama_thread`).
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from llama_cpp.llama_speculative import LlamaDraftModel

from sage.cascade.llama_thread import in_background, on_llama_thread, pinned
from sage.cascade.speculation import CountingProposer
from sage.errors import ModelError

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Uncertainty:
    """Token-level statistics of one answer (length-independent, unlike mean perplexity)."""

    tokens: int
    mean_nll: float
    """Mean negative log-likelihood per token, in nats."""
    low_prob: float
    """10th percentile of the chosen tokens' probabilities: a few unsure tokens show here."""
    min_prob: float

    @staticmethod
    def of(logprobs: list[float]) -> Uncertainty:
        """Summarise per-token log-probabilities."""
        if not logprobs:
            return Uncertainty(0, 0.0, 1.0, 1.0)
        values = np.asarray(logprobs, dtype=np.float64)
        probs = np.exp(values)
        return Uncertainty(
            tokens=len(values),
            mean_nll=float(-values.mean()),
            low_prob=float(np.percentile(probs, 10)),
            min_prob=float(probs.min()),
        )

    @property
    def surprise(self) -> float:
        """A [0, 1] score for SNARC: how unsure the least sure tenth of the answer was."""
        return 1.0 - self.low_prob if self.tokens else 0.0

    def as_dict(self) -> dict[str, float]:
        """For the experience store."""
        return {
            "tokens": self.tokens,
            "mean_nll": round(self.mean_nll, 4),
            "low_prob": round(self.low_prob, 4),
            "min_prob": round(self.min_prob, 4),
        }


class _ProposalRows(LlamaDraftModel):
    """The draft seam as llama.cpp calls it: the proposer's tokens, with every position's
    logits computed only for the batches that carry proposals (verification samples one
    row per proposed token). The prompt and plain steps then compute one row, as without
    a draft; keeping every prompt row cost about 130 ms of first token on the reference
    CPU (tools/bench_speculation.py).

    llama-cpp-python reads ``Llama._logits_all`` at every ``eval``; the constructor still
    gets ``logits_all=True`` so that its score buffer holds a row per position.
    """

    def __init__(self, proposer: CountingProposer, every_row: bool) -> None:
        self.proposer = proposer
        self.every_row = every_row
        """Keep every row anyway (a model that also scores given answers)."""
        self.llm: Any = None

    def keep_rows(self, every: bool) -> None:
        """Keep every position's logits in the next batches (else one row, unless the
        model always keeps every row)."""
        self.llm._logits_all = self.every_row or every

    def __call__(self, input_ids: np.ndarray, /, **kwargs: Any) -> np.ndarray:
        proposal = self.proposer(input_ids, **kwargs)
        self.keep_rows(len(proposal) > 0)
        return proposal


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities from logits, along the last axis."""
    peak = logits.max(axis=-1, keepdims=True)
    return logits - peak - np.log(np.exp(logits - peak).sum(axis=-1, keepdims=True))


def vocabulary_digest(model_path: Path) -> str:
    """A digest of a GGUF model's token list: equal digests, the same token ids (what
    speculation and distillation between two models need)."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(model_path), vocab_only=True, verbose=False)
    try:
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        digest = hashlib.sha256()
        for token in range(llama_cpp.llama_vocab_n_tokens(vocab)):
            digest.update(llama_cpp.llama_vocab_get_text(vocab, token) + b"\0")
        return digest.hexdigest()
    finally:
        llm.close()


class ChatModel:
    """One GGUF chat model in llama.cpp, streamed token by token."""

    def __init__(
        self,
        model_path: Path,
        n_ctx: int,
        threads: int,
        gpu_layers: int = 0,
        role: str = "",
        draft: CountingProposer | None = None,
        all_logits: bool = False,
    ) -> None:
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.role = role
        self.name = model_path.name
        self.draft = draft
        """The DraftProposer when this model decodes speculatively."""
        # ``all_logits`` keeps every position's logits (scoring a given answer, as DREAM's
        # gate does); speculation needs them for the batches of proposals it verifies.
        self._seam = _ProposalRows(draft, all_logits) if draft is not None else None
        offload = gpu_layers if llama_cpp.llama_supports_gpu_offload() else 0
        t0 = time.perf_counter()
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_gpu_layers=offload,
                draft_model=self._seam,
                logits_all=draft is not None or all_logits,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"cannot load {model_path.name} ({exc}); run `sage models install`"
            ) from exc
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{model_path.name} has no chat template in its metadata")
        vocab = self.llm._model
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=vocab.token_get_text(self.llm.token_eos()),
            bos_token=vocab.token_get_text(self.llm.token_bos()),
        )
        self._adapters: dict[Path, Any] = {}
        self.adapter: Path | None = None
        """The LoRA adapter now on, if any."""
        self._vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        """llama.cpp's vocabulary handle, looked up once for the end-of-turn check."""
        self._n_vocab = self.llm.n_vocab()
        """The width of a logits row."""
        if self._seam is not None:
            self._seam.llm = self.llm
            self._seam.keep_rows(False)
        _LOGGER.info(
            "loaded %s (%s) in %.1f s, gpu layers %d",
            self.name, role, time.perf_counter() - t0, offload,
        )  # fmt: skip

    def prompt_tokens(self, messages: list[dict[str, str]]) -> tuple[list[int], list[str]]:
        """Token ids of the templated conversation, and its stop strings."""
        formatted = self._formatter(messages=messages)  # type: ignore[arg-type]
        tokens = self.llm.tokenize(
            formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
        )
        stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop or ""]
        return tokens, [s for s in stops if s]

    def stream(
        self, messages: list[dict[str, str]], max_tokens: int
    ) -> Iterator[tuple[str, float]]:
        """Greedy continuation: (text piece, log-probability of its token) per token.

        Closing the iterator stops generation at once (early exit).
        """
        return pinned(self._stream(messages, max_tokens))

    def _stream(
        self, messages: list[dict[str, str]], max_tokens: int
    ) -> Iterator[tuple[str, float]]:
        tokens, stops = self.prompt_tokens(messages)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        generated: list[int] = []
        text = ""
        self._settle()
        try:
            for token in self.llm.generate(tokens, temp=0.0, repeat_penalty=1.0):
                if self._is_end(token):
                    generated.append(token)
                    return
                logprob = self._logprob(token, len(tokens) + len(generated) - 1)
                piece = decoder.decode(self.llm.detokenize([token], prev_tokens=tokens + generated))
                generated.append(token)
                text += piece
                if any(stop in text for stop in stops):
                    return
                yield piece, logprob
                if len(generated) >= max_tokens:
                    return
        finally:
            if self._seam is not None:
                self._seam.proposer.finish(tokens + generated)

    def choose(self, messages: list[dict[str, str]], options: list[str]) -> str:
        """The option the model prefers, greedily, under a GBNF grammar that allows only
        the options: the model can pick, never write something else."""
        import json

        from llama_cpp import LlamaGrammar

        grammar = LlamaGrammar.from_string(
            "root ::= " + " | ".join(json.dumps(option) for option in options), verbose=False
        )
        tokens, _ = self.prompt_tokens(messages)

        def pick() -> str:
            chosen: list[int] = []
            text = ""
            self._settle()
            for token in self.llm.generate(tokens, temp=0.0, repeat_penalty=1.0,
                                           grammar=grammar):  # fmt: skip
                if self._is_end(token) or len(chosen) >= 48:
                    break
                chosen.append(token)
                text = self.llm.detokenize(chosen).decode("utf-8", errors="replace")
                if text in options and not any(o.startswith(text) and o != text for o in options):
                    break
            return text

        text = on_llama_thread(pick)
        return text if text in options else options[-1]

    def use_adapter(self, path: Path | None, scale: float = 1.0) -> None:
        """Switch a LoRA adapter on, or every adapter off (None).

        The KV cache was computed with the other weights, so it is dropped on a change.
        """
        import ctypes

        import llama_cpp

        if path == self.adapter:
            return
        if path is None:
            llama_cpp.llama_set_adapters_lora(self.llm.ctx, None, 0, None)
        else:
            if path not in self._adapters:
                handle = llama_cpp.llama_adapter_lora_init(self.llm.model, str(path).encode())
                if not handle:
                    raise ModelError(f"{path} is not a LoRA adapter for {self.name}")
                self._adapters[path] = handle
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(self._adapters[path])
            scales = (ctypes.c_float * 1)(scale)
            if llama_cpp.llama_set_adapters_lora(self.llm.ctx, adapters, 1, scales) != 0:
                raise ModelError(f"llama.cpp refused the adapter {path.name}")
        self.adapter = path
        self.llm.reset()

    def _settle(self) -> None:
        """A new prompt: the speculation seam goes back to one logits row per batch."""
        if self._seam is not None:
            self._seam.keep_rows(False)

    def _logprob(self, token: int, position: int) -> float:
        """The log-probability of ``token`` in the row it was sampled from: the logits
        after ``position``, a row of the batch just decoded (generate samples each row of
        a batch before it decodes the next)."""
        import llama_cpp

        row = llama_cpp.llama_get_logits_ith(self.llm.ctx, position - self.llm.n_tokens)
        if not row:
            raise ModelError(f"{self.name}: no logits for position {position}")
        return float(log_softmax(np.ctypeslib.as_array(row, shape=(self._n_vocab,)))[token])

    def _is_end(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def warm(self, messages: list[dict[str, str]]) -> None:
        """Evaluate a prompt so the next one sharing its prefix starts from the cache."""
        tokens, _ = self.prompt_tokens(messages)

        def evaluate() -> None:
            self.llm.reset()
            self._settle()
            self.llm.eval(tokens)

        on_llama_thread(evaluate)

    def prime(self, messages: list[dict[str, str]]) -> None:
        """Bring the KV cache up to ``messages`` in the background, from the prefix it
        already holds: the next prompt that extends them evaluates only its own tokens.
        """

        def evaluate() -> None:
            tokens, _ = self.prompt_tokens(messages)
            self._settle()
            steps = self.llm.generate(tokens, temp=0.0, repeat_penalty=1.0)
            next(steps)  # the prompt is evaluated before its first token is sampled
            steps.close()

        in_background(evaluate)

    def answer_logprobs(self, prompt: list[int], answer: list[int]) -> np.ndarray:
        """Log-probabilities over the vocabulary at each answer position after the prompt
        (teacher forcing; the model must keep every row: ``all_logits``, or a draft seam)."""

        def forced() -> np.ndarray:
            self.llm.reset()
            if self._seam is not None:
                self._seam.keep_rows(True)
            self.llm.eval(prompt + answer)
            rows = np.array(self.llm.scores[len(prompt) - 1 : len(prompt) + len(answer) - 1])
            self.llm.reset()
            self._settle()
            return rows

        return log_softmax(on_llama_thread(forced).astype(np.float64))

    def save_state(self, path: Path) -> int:
        """Write the KV cache and its tokens as a llama.cpp state file; the token count."""
        import llama_cpp

        def save() -> int:
            n = self.llm.n_tokens
            tokens = (llama_cpp.llama_token * n)(*self.llm.input_ids[:n].tolist())
            if not llama_cpp.llama_state_save_file(self.llm.ctx, str(path).encode(), tokens, n):
                raise OSError(f"llama.cpp could not write the state file {path}")
            return n

        return on_llama_thread(save)

    def load_state(self, path: Path) -> list[int] | None:
        """Load a state file into the context; its tokens, or None when refused.

        The token bookkeeping is set so that the next prompt sharing the prefix is
        matched against it; the last logits are not in the file, so one token is
        evaluated again before sampling.
        """
        import ctypes

        import llama_cpp

        def load() -> list[int] | None:
            capacity = self.llm.n_ctx()
            tokens = (llama_cpp.llama_token * capacity)()
            count = ctypes.c_size_t(0)
            self.llm.reset()
            ok = llama_cpp.llama_state_load_file(
                self.llm.ctx, str(path).encode(), tokens, capacity, ctypes.byref(count)
            )
            if not ok:
                self.llm._ctx.kv_cache_clear()
                return None
            n = count.value
            self.llm.input_ids[:n] = tokens[:n]
            self.llm.n_tokens = n
            self.llm._requires_eval = True
            return list(tokens[:n])

        return on_llama_thread(load)

    def close(self) -> None:
        """Free the model now rather than at garbage collection (after any work queued
        for it on the llama.cpp thread)."""
        on_llama_thread(self.llm.close)
