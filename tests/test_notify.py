"""sd_notify against a real datagram socket; the watchdog is fed only through the pipeline;
SIGTERM during an utterance stops in time with the store intact."""

from __future__ import annotations

import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sage.audio import SAMPLE_RATE, SAMPLE_WIDTH
from sage.audio.io import NullSink
from sage.audio.wav import read_wav
from sage.catalog import ModelCache
from sage.config import Config
from sage.daemon import Daemon
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.pipeline import Pipeline
from sage.services.notify import Notifier


@pytest.fixture
def listener() -> Iterator[tuple[str, socket.socket]]:
    """A datagram socket bound at a short path (sun_path holds 108 bytes)."""
    directory = tempfile.mkdtemp(prefix="sn", dir="/tmp")
    path = os.path.join(directory, "n")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    yield path, sock
    sock.close()
    os.unlink(path)
    os.rmdir(directory)


def test_path_socket(listener: tuple[str, socket.socket]) -> None:
    path, sock = listener
    assert Notifier(path).send("READY=1", "STATUS=listening")
    assert sock.recv(4096) == b"READY=1\nSTATUS=listening"


def test_abstract_socket() -> None:
    name = f"sage-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(10)
    try:
        assert Notifier("@" + name).send("WATCHDOG=1")
        assert sock.recv(4096) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_no_socket_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled and not notifier.send("READY=1")


def test_a_vanished_socket_is_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier(str(tmp_path / "gone"))
    assert not notifier.send("READY=1")
    assert not notifier.send("READY=1")
    assert len([r for r in caplog.records if "sd_notify" in r.getMessage()]) == 1


class Gate:
    """Wraps the real recognizer; while closed, transcribe() blocks (a stuck stage)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.open = threading.Event()
        self.open.set()
        self.blocked = threading.Event()

    def transcribe(self, pcm: bytes):  # type: ignore[no-untyped-def]
        if not self.open.is_set():
            self.blocked.set()
            self.open.wait(60)
        return self.inner.transcribe(pcm)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.inner.close()  # type: ignore[attr-defined]


def test_no_watchdog_while_a_stage_is_blocked(
    config: Config, models: ModelCache, listener: tuple[str, socket.socket]
) -> None:
    path, sock = listener
    pipeline = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink())
    gate = Gate(pipeline.recognizer)
    pipeline._recognizer = gate  # type: ignore[assignment]
    silence = bytes(SAMPLE_RATE * SAMPLE_WIDTH // 10)
    feed: queue.Queue[bytes | None] = queue.Queue()
    blocks = iter(feed.get, None)  # the input: one block per item the test puts in
    daemon = Daemon(pipeline, notifier=Notifier(path), watchdog_s=1e-9)
    loop = threading.Thread(target=daemon.run, args=(blocks,))
    loop.start()
    feed.put(silence)
    assert sock.recv(4096).startswith(b"WATCHDOG=1")  # a ping went through
    gate.open.clear()
    feed.put(silence)
    assert gate.blocked.wait(30)  # the recognizer is stuck inside the ping
    sock.settimeout(1.0)
    with pytest.raises(TimeoutError):
        sock.recv(4096)  # ... and systemd hears nothing
    gate.open.set()
    sock.settimeout(30)
    assert sock.recv(4096).startswith(b"WATCHDOG=1")  # fed again once it moves
    feed.put(None)
    loop.join(60)
    pipeline.close()


def test_sigterm_during_an_utterance_stops_in_time_with_the_store_intact(
    speak_piper,
    listener: tuple[str, socket.socket],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    path, sock = listener
    pcm = read_wav(speak_piper("sigterm", "Why is the sky blue?"))
    env = dict(os.environ, NOTIFY_SOCKET=path, SAGE_STATE_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    sage = subprocess.Popen(
        [sys.executable, "-m", "sage.cli", "run", "--input", "-", "--output", "none", "--json"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert sage.stdin is not None and sage.stderr is not None
    messages = []
    while not any(m.startswith(b"READY=1") for m in messages):
        messages.append(sock.recv(4096))
    assert any(m.startswith(b"EXTEND_TIMEOUT_USEC=") for m in messages)
    sage.stdin.write(pcm + bytes(SAMPLE_RATE * SAMPLE_WIDTH))  # the question, then 1 s quiet
    sage.stdin.flush()
    for line in sage.stderr:  # the turn is under way once the state machine hears it
        if b"wake \xe2\x86\x92 focus" in line:
            break
    sage.send_signal(signal.SIGTERM)
    assert sock.recv(4096).startswith(b"STOPPING=1")
    out, _ = sage.communicate(timeout=30)  # systemd's TimeoutStopSec in the shipped unit
    assert sage.returncode == 0
    assert b'"route": "llm"' in out  # the turn under way was finished, not dropped
    db = sqlite3.connect(tmp_path / "sage.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM experiences").fetchone()[0] == 1
    db.close()
