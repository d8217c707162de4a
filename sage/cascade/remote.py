"""The base tier served by another machine: an OpenAI-compatible chat endpoint.

llama.cpp's server (``python -m llama_cpp.server``) or vLLM on a GPU host in the house
answers for several SAGE satellites. The client is the standard streaming
``/v1/chat/completions`` protocol over plain HTTP (stdlib only), with a connect/first-token
timeout. When the server is down or slow, :class:`RemoteUnavailable` is raised before
anything was spoken, and the cascade answers with the local model instead.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.client import HTTPException

_LOGGER = logging.getLogger(__name__)


class RemoteUnavailable(Exception):
    """The remote server could not be reached or did not answer in time."""


class RemoteChatModel:
    """A chat model behind an OpenAI-compatible HTTP endpoint, streamed token by token."""

    def __init__(self, url: str, model: str, timeout_s: float, role: str = "remote") -> None:
        self.url = url.rstrip("/") + "/v1/chat/completions"
        self.model = model
        self.timeout_s = timeout_s
        self.role = role
        self.name = f"{model or 'remote'}@{url}"

    def prompt_tokens(self, messages: list[dict[str, str]]) -> tuple[list[int], list[str]]:
        """The remote side tokenises; the count is not known here."""
        return [], []

    def stream(
        self, messages: list[dict[str, str]], max_tokens: int
    ) -> Iterator[tuple[str, float]]:
        """(text piece, log-probability) per streamed chunk; 0.0 when the server sends none."""
        body = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "stream": True,
            "logprobs": True,
        }
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
        )
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout_s)  # noqa: S310
        except (urllib.error.URLError, TimeoutError, HTTPException, OSError) as exc:
            raise RemoteUnavailable(f"{self.url}: {exc}") from exc
        with response:
            try:
                yield from self._events(response)
            except (TimeoutError, HTTPException, OSError, ValueError) as exc:
                raise RemoteUnavailable(f"{self.url}: stream broke off ({exc})") from exc

    @staticmethod
    def _events(response: object) -> Iterator[tuple[str, float]]:
        for raw in response:  # type: ignore[attr-defined]
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            choice = json.loads(data)["choices"][0]
            piece = (choice.get("delta") or {}).get("content") or ""
            logprobs = ((choice.get("logprobs") or {}).get("content")) or []
            logprob = sum(float(lp.get("logprob", 0.0)) for lp in logprobs)
            if piece:
                yield piece, logprob

    def warm(self, messages: list[dict[str, str]]) -> None:
        """Nothing to load here."""

    def close(self) -> None:
        """Nothing to free here."""
