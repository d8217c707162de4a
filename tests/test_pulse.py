"""Real capture and playback: `sage run` on PulseAudio null sinks.

`paplay` feeds a "mic" null sink whose monitor is SAGE's microphone; SAGE plays into a
"speaker" null sink whose monitor `parec` records. Both go through sounddevice →
PortAudio → ALSA's pulse plugin, as on a desktop or a Jetson with PulseAudio.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sage.audio.wav import read_wav
from sage.catalog import ModelCache
from sage.config import AsrConfig
from sage.speech.asr import WhisperRecognizer

from .test_asr import word_errors


def _pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def null_sinks() -> Iterator[dict[str, str]]:
    """A running PulseAudio with two fresh null sinks; yields the environment for clients."""
    for tool in ("pulseaudio", "pactl", "paplay", "parec"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (tools/bootstrap installs pulseaudio as root)")
    started = False
    if subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
        daemon = subprocess.run(
            ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "--log-target=stderr"],
            capture_output=True,
            text=True,
        )
        if (
            daemon.returncode != 0
            or subprocess.run(["pactl", "info"], capture_output=True).returncode
        ):
            pytest.skip(f"PulseAudio cannot start here: {daemon.stderr.strip()[-200:]}")
        started = True
    tag = uuid.uuid4().hex[:6]
    mic, speaker = f"sage_mic_{tag}", f"sage_speaker_{tag}"
    modules = [
        _pactl("load-module", "module-null-sink", f"sink_name={name}").strip()
        for name in (mic, speaker)
    ]
    try:
        yield {"mic": mic, "speaker": speaker}
    finally:
        for module in modules:
            subprocess.run(["pactl", "unload-module", module], capture_output=True)
        if started:
            subprocess.run(["pulseaudio", "--kill"], capture_output=True)


def _lines(stream: object, sink: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.put(line)


def _wait_for(lines: queue.Queue[str], needle: str, timeout: float, seen: list[str]) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"no line with {needle!r} within {timeout} s:\n{''.join(seen[-20:])}")


def _wait_for_recording(source: str, timeout: float) -> None:
    """Until a client records from ``source`` with its stream running (not corked):
    audio played before that is not heard by anyone."""
    sources = _pactl("list", "short", "sources").splitlines()
    index = next(line.split()[0] for line in sources if line.split()[1] == source)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for output in _pactl("list", "source-outputs").split("Source Output #")[1:]:
            if f"Source: {index}\n" in output and "Corked: no" in output:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing records from {source} after {timeout} s")


def test_microphone_in_speaker_out(
    null_sinks, speak_piper, models: ModelCache, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    env = dict(
        os.environ,
        PULSE_SOURCE=f"{null_sinks['mic']}.monitor",
        PULSE_SINK=null_sinks["speaker"],
        PYTHONUNBUFFERED="1",
    )
    recording = tmp_path / "speaker.wav"
    # A reply that reads the same at any time of day: whisper writes a spoken clock time
    # back in forms that do not compare ("five eighteen" -> "fire baking").
    question = speak_piper("pulse_question", "What is your name?")
    sage = subprocess.Popen(
        [sys.executable, "-m", "sage.cli", "run", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(sage.stdout, out), daemon=True).start()
    threading.Thread(target=_lines, args=(sage.stderr, err), daemon=True).start()
    parec = subprocess.Popen(
        ["parec", "-d", f"{null_sinks['speaker']}.monitor", "--file-format=wav", str(recording)]
    )
    seen: list[str] = []
    try:
        _wait_for(err, "listening on mic", 120, seen)
        _wait_for_recording(f"{null_sinks['mic']}.monitor", 10)  # "listening" means capturing
        subprocess.run(["paplay", "-d", null_sinks["mic"], str(question)], check=True)
        turn = json.loads(_wait_for(out, '"route"', 60, seen))
        time.sleep(6)  # let the reply finish playing into the speaker sink
    finally:
        parec.send_signal(signal.SIGINT)
        parec.wait(10)
        sage.send_signal(signal.SIGTERM)
        code = sage.wait(30)
    assert code == 0
    assert (turn["route"], turn["rule"]) == ("pattern", "identity")
    heard = WhisperRecognizer(models.path("whisper"), AsrConfig(), "").recognize(
        read_wav(recording)
    )
    assert word_errors(heard, turn["reply"]) <= 2, (heard, turn["reply"])
