"""Shared fixtures: generated speech (Piper and espeak-ng), the model cache, a CLI runner;
and the check that speculative decoding kept the greedy text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sage.cascade.chat import ChatModel
from sage.catalog import ModelCache
from sage.config import Config, TtsConfig, load_config
from sage.speech.tts import PiperSpeaker

Speak = Callable[..., Path]

NEAR_TIE = 0.1
"""A gap between the two best logits under which either token may win: llama.cpp verifies
a speculative batch with other kernels than it decodes one token with, and their sums
round differently (0.03 apart on the tiny model's "def add_" → "two" / "numbers", AVX-512
build)."""


def assert_same_greedy_text(
    model: ChatModel, messages: list[dict[str, str]], plain: str, speculative: str
) -> None:
    """``speculative`` is the ``plain`` greedy text, or parts from it only where the plain
    text's next token was a near-tie (``model`` must keep every logits row)."""
    if speculative == plain:
        return
    shared = len(os.path.commonprefix([plain, speculative]))
    prompt, _ = model.prompt_tokens(messages)
    prefix = model.llm.tokenize(plain[:shared].encode(), add_bos=False, special=False)
    after = model.answer_logprobs(prompt, [*prefix, 0])[-1]  # the row after the prefix
    best, second = np.sort(after)[-2:][::-1]
    assert best - second < NEAR_TIE, (
        f"speculation changed the text where the choice was clear ({best - second:.2f} "
        f"apart) after {plain[:shared]!r}: {plain[shared:]!r} → {speculative[shared:]!r}"
    )


def pytest_configure(config: pytest.Config) -> None:
    """Keep the tests' experience store out of the user's state directory."""
    import tempfile

    os.environ["SAGE_STATE_DIR"] = tempfile.mkdtemp(prefix="sage-test-state-")


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(None)


@pytest.fixture(scope="session")
def models(config: Config) -> ModelCache:
    return ModelCache(config.paths.cache_dir)


@pytest.fixture(scope="session")
def fixture_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Write int16 mono samples."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


@pytest.fixture(scope="session")
def piper(models: ModelCache) -> PiperSpeaker:
    # No generator noise: the same text gives the same audio on every run.
    return PiperSpeaker(models.path("voice"), TtsConfig(noise_scale=0.0, noise_w_scale=0.0))


@pytest.fixture(scope="session")
def speak_piper(piper: PiperSpeaker, fixture_dir: Path) -> Speak:
    """Piper (en_US-joe) speaks texts, separated and padded by silence, into one WAV."""

    def speak(name: str, *texts: str, gap_s: float = 1.5, pad_s: float = 0.5) -> Path:
        rate = piper.sample_rate
        parts = [np.zeros(int(rate * pad_s), np.int16)]
        for i, text in enumerate(texts):
            if i:
                parts.append(np.zeros(int(rate * gap_s), np.int16))
            for chunk in piper.speak(text):
                parts.append(np.frombuffer(chunk.pcm, np.int16))
        parts.append(np.zeros(int(rate * pad_s), np.int16))
        return write_wav(fixture_dir / f"{name}.wav", np.concatenate(parts), rate)

    return speak


@pytest.fixture(scope="session")
def speak_espeak(fixture_dir: Path) -> Speak:
    """espeak-ng (a different, formant voice) speaks a text into a WAV, padded by silence."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng and sox are not installed (tools/bootstrap installs them as root)")

    def speak(name: str, text: str) -> Path:
        raw = fixture_dir / f"{name}.raw.wav"
        out = fixture_dir / f"{name}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
        subprocess.run(["sox", str(raw), str(out), "pad", "0.5", "0.5"], check=True)
        return out

    return speak


def run_sage(
    *args: str, stdin: bytes | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    done = subprocess.run(
        [sys.executable, "-m", "sage.cli", *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )
