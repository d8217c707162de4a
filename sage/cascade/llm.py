"""The base model through llama-cpp-python: chat template, short spoken answers, streamed.

This is the single LLM tier of the voice loop; the trust-selected cascade replaces it
behind the same :class:`Responder` interface.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from sage.cascade.sentences import split_sentences
from sage.config import LlmConfig
from sage.errors import ModelError

_LOGGER = logging.getLogger(__name__)


@dataclass
class Generation:
    """Figures from one streamed answer, filled in while it streams."""

    first_token_ms: float | None = None
    prompt_tokens: int = 0
    tokens: int = 0
    total_ms: float = 0.0
    sentences: list[str] = field(default_factory=list)


class Responder(Protocol):
    """Answers a transcript that no rule covered, sentence by sentence."""

    def respond(self, text: str, stats: Generation) -> Iterator[str]:
        """Yield complete sentences of the answer as they are generated."""
        ...

    def warm(self) -> None:
        """Prepare the standing context so the first turn starts fast."""
        ...

    def close(self) -> None:
        """Free the model."""
        ...


class LlamaResponder:
    """A GGUF chat model answering in a few spoken sentences."""

    def __init__(self, model_path: Path, config: LlmConfig) -> None:
        import llama_cpp

        gpu_layers = config.gpu_layers if llama_cpp.llama_supports_gpu_offload() else 0
        t0 = time.perf_counter()
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(model_path),
                n_ctx=config.n_ctx,
                n_threads=config.threads,
                n_gpu_layers=gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"cannot load {model_path.name} ({exc}); run `sage models install`"
            ) from exc
        _LOGGER.info(
            "loaded %s in %.1f s (gpu layers %d)",
            model_path.name,
            time.perf_counter() - t0,
            gpu_layers,
        )
        self._config = config

    def _messages(self, text: str) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self._config.system_prompt},
            {"role": "user", "content": text},
        ]

    def warm(self) -> None:
        """Evaluate the system prompt once; later turns reuse it (llama.cpp prefix match)."""
        self._llm.create_chat_completion(messages=self._messages(""), max_tokens=1)  # type: ignore[arg-type]

    def respond(self, text: str, stats: Generation) -> Iterator[str]:
        """Stream the answer to ``text`` as sentences."""
        messages = self._messages(text)
        t0 = time.perf_counter()
        stream = cast(
            Generator[dict[str, Any], None, None],
            self._llm.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                max_tokens=self._config.max_tokens,
                temperature=self._config.temperature,
                stream=True,
            ),
        )

        def pieces() -> Iterator[str]:
            for chunk in stream:  # llama.cpp streams one chunk per generated token
                delta: str | None = chunk["choices"][0]["delta"].get("content")
                if not delta:
                    continue
                if stats.first_token_ms is None:
                    stats.first_token_ms = (time.perf_counter() - t0) * 1000
                stats.tokens += 1
                yield delta

        with closing(stream):
            for sentence in split_sentences(pieces()):
                stats.sentences.append(sentence)
                yield sentence
        stats.total_ms = (time.perf_counter() - t0) * 1000
        stats.prompt_tokens = max(0, self._llm.n_tokens - stats.tokens)

    def close(self) -> None:
        """Free the model's memory now rather than at garbage collection."""
        self._llm.close()
