"""The base tier on a remote OpenAI-compatible server (llama.cpp's, on loopback), and the
fallback to the local model when that server is down or silent."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from sage.cascade.cascade import Cascade, Generation
from sage.cascade.chat import ChatModel
from sage.catalog import ModelCache
from sage.config import CascadeConfig, Config, RemoteConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(models: ModelCache) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server with the tiny model, on loopback."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(models.path("tiny")),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/v1/models", timeout=2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("llama_cpp.server did not come up within 90 s")
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def local(models: ModelCache) -> Iterator[ChatModel]:
    model = ChatModel(models.path("tiny"), 1024, 2, role="tiny")
    yield model
    model.close()


def cascade(url: str, local: ChatModel, timeout_s: float = 10.0) -> Cascade:
    config = Config(
        cascade=CascadeConfig(draft_role=""),  # base tier only
        remote=RemoteConfig(url=url, timeout_s=timeout_s, retry_after_s=60.0),
    )
    return Cascade(config, load=lambda tier, role, draft: local)


def test_remote_server_answers(server: str, local: ChatModel) -> None:
    stats = Generation()
    reply = " ".join(cascade(server, local).respond("What colour is the sky?", stats, "novel"))
    assert reply
    assert [(c.model.endswith(server), c.outcome) for c in stats.calls] == [(True, "spoken")]


def test_server_down_falls_back_to_the_local_model(
    local: ChatModel, caplog: pytest.LogCaptureFixture
) -> None:
    down = cascade(f"http://127.0.0.1:{free_port()}", local)
    for _ in range(2):
        stats = Generation()
        assert " ".join(down.respond("What colour is the sky?", stats, "novel"))
        assert stats.calls[-1].model == local.name and stats.calls[-1].outcome == "spoken"
    # tried once, then left alone for retry_after_s: one failure in the log
    assert sum("remote base unavailable" in r.message for r in caplog.records) == 1


def test_silent_server_times_out_and_falls_back(local: ChatModel) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        stats = Generation()
        answer = list(cascade(f"http://127.0.0.1:{port}", local, timeout_s=1.0).respond(
            "What colour is the sky?", stats, "novel"
        ))  # fmt: skip
    assert answer and stats.calls[0].outcome == "error" and stats.calls[-1].outcome == "spoken"
