"""KV-cache snapshots on the tiny GGUF: same greedy text as cold, every damage a cache miss,
and no torn file that loads after kill -9 during saves."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import llama_cpp
import pytest

from sage.cascade.chat import ChatModel
from sage.catalog import ModelCache
from sage.metabolism.snapshots import SnapshotKey, SnapshotStore

N_CTX = 1024
FACTS = "The kitchen light is called Luna and the hall light is called Sol."
SYSTEM = [{"role": "system", "content": f"You are a helpful assistant. {FACTS}"}]
QUESTION = [*SYSTEM, {"role": "user", "content": "What is the kitchen light called?"}]


@pytest.fixture(scope="module")
def tiny(models: ModelCache) -> Path:
    return models.path("tiny")


@pytest.fixture(scope="module")
def key(models: ModelCache) -> SnapshotKey:
    return SnapshotKey(models.entry("tiny").sha256, N_CTX, llama_cpp.__version__)


Saved = tuple[Path, str]
"""A directory holding the snapshot "prefix", and the cold greedy answer."""


def answer(model: ChatModel) -> str:
    return "".join(piece for piece, _ in model.stream(QUESTION, 24))


@pytest.fixture(scope="module")
def saved(tiny: Path, key: SnapshotKey, tmp_path_factory: pytest.TempPathFactory) -> Saved:
    """A prefix snapshot written by one model, and that model's cold answer."""
    directory = tmp_path_factory.mktemp("snapshots")
    model = ChatModel(tiny, N_CTX, 2, role="tiny")
    model.warm(SYSTEM)
    assert SnapshotStore(directory, 1 << 30).save("prefix", key, model.save_state)
    model.llm.reset()
    cold = answer(model)
    model.close()
    return directory, cold


def fresh_copy(saved_dir: Path, tmp_path: Path) -> SnapshotStore:
    for path in saved_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    return SnapshotStore(tmp_path, 1 << 30)


def test_restored_snapshot_gives_the_cold_greedy_text(
    saved: Saved, tiny: Path, key: SnapshotKey, tmp_path: Path
) -> None:
    directory, cold = saved
    store = fresh_copy(directory, tmp_path)
    model = ChatModel(tiny, N_CTX, 2, role="tiny")
    restored = store.load("prefix", key, model.load_state)
    assert restored is not None and len(restored.tokens) == model.llm.n_tokens > 10
    assert model.prompt_tokens(SYSTEM)[0] == restored.tokens
    assert answer(model) == cold and "Luna" in cold
    model.close()


def damage_truncate(store: SnapshotStore) -> None:
    payload = store.directory / "prefix.state"
    payload.write_bytes(payload.read_bytes()[: payload.stat().st_size // 2])


def damage_bitflip(store: SnapshotStore) -> None:
    payload = store.directory / "prefix.state"
    data = bytearray(payload.read_bytes())
    data[len(data) // 2] ^= 0x10
    payload.write_bytes(bytes(data))


def damage_sidecar(store: SnapshotStore) -> None:
    (store.directory / "prefix.json").write_text("{not json")


@pytest.mark.parametrize("damage", [damage_truncate, damage_bitflip, damage_sidecar])
def test_damaged_snapshot_is_a_logged_miss_and_removed(
    saved: Saved,
    tiny: Path,
    key: SnapshotKey,
    tmp_path: Path,
    damage: Callable[[SnapshotStore], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    directory, cold = saved
    store = fresh_copy(directory, tmp_path)
    damage(store)
    model = ChatModel(tiny, N_CTX, 2, role="tiny")
    with caplog.at_level(logging.WARNING):
        assert store.load("prefix", key, model.load_state) is None
        assert store.load("prefix", key, model.load_state) is None
    misses = [r for r in caplog.records if "cache miss" in r.getMessage()]
    assert len(misses) == 1  # logged once; the files are gone
    assert not list(tmp_path.glob("prefix.*"))
    assert answer(model) == cold  # cold start works
    model.close()


@pytest.mark.parametrize("field", ["model_sha256", "n_ctx", "library", "format"])
def test_snapshot_of_another_model_context_or_library_is_a_miss(
    saved: Saved, tiny: Path, key: SnapshotKey, tmp_path: Path, field: str
) -> None:
    import dataclasses

    directory, _ = saved
    store = fresh_copy(directory, tmp_path)
    other = {"model_sha256": "0" * 64, "n_ctx": 2048, "library": "0.0.1", "format": 0}[field]
    model = ChatModel(tiny, N_CTX, 2, role="tiny")
    other_key = dataclasses.replace(key, **{field: other})
    assert store.load("prefix", other_key, model.load_state) is None
    assert not (tmp_path / "prefix.state").exists()
    model.close()


def test_state_file_from_another_model_is_refused_by_llama_cpp(
    models: ModelCache, saved: Saved
) -> None:
    """Even past the sidecar, llama.cpp itself refuses a state file of another model."""
    directory, _ = saved
    draft = ChatModel(models.path("draft"), N_CTX, 2, role="draft")
    assert draft.load_state(directory / "prefix.state") is None
    assert draft.llm.n_tokens == 0
    draft.close()


def test_least_recently_used_snapshots_are_evicted(
    saved: Saved, key: SnapshotKey, tmp_path: Path
) -> None:
    directory, _ = saved
    size = (directory / "prefix.state").stat().st_size
    store = SnapshotStore(tmp_path, cap_bytes=int(size * 2.5))
    payload = (directory / "prefix.state").read_bytes()

    def write(path: Path) -> int:
        path.write_bytes(payload)
        return 1

    for name in ("a", "b"):
        store.save(name, key, write)
    os.utime(tmp_path / "a.json", (1, 1))
    os.utime(tmp_path / "b.json", (2, 2))
    store.load("a", key, lambda path: [1])  # "a" used again: now "b" is the oldest
    store.save("c", key, write)
    assert {row["name"] for row in store.entries()} == {"a", "c"}


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from sage.cascade.chat import ChatModel
    from sage.metabolism.snapshots import SnapshotKey, SnapshotStore
    model_path, directory, sha, version = sys.argv[1:5]
    key = SnapshotKey(sha, 1024, version)
    model = ChatModel(Path(model_path), 1024, 1, role="tiny")
    store = SnapshotStore(Path(directory), 1 << 30)
    system = [{"role": "system", "content": "You are a helpful assistant."}]
    model.warm(system)
    print("ready", flush=True)
    while True:
        store.save("prefix", key, model.save_state)
    """
)


def test_kill_9_while_saving_never_leaves_a_torn_snapshot_that_loads(
    tiny: Path, key: SnapshotKey, models: ModelCache, tmp_path: Path
) -> None:
    model = ChatModel(tiny, N_CTX, 2, role="tiny")
    system = [{"role": "system", "content": "You are a helpful assistant."}]
    expected = model.prompt_tokens(system)[0]
    rng = random.Random(7)
    outcomes = {"restored": 0, "miss": 0, "interrupted": 0}
    for _ in range(50):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tiny), str(tmp_path), key.model_sha256, key.library],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        # Kill somewhere inside a save: each takes a few milliseconds.
        child.stdout.close()
        os.sched_yield()
        deadline = rng.uniform(0.0, 0.05)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=deadline)
        child.send_signal(signal.SIGKILL)
        child.wait()
        outcomes["interrupted"] += bool(list(tmp_path.glob(".*")))  # killed mid-save
        restored = SnapshotStore(tmp_path, 1 << 30).load("prefix", key, model.load_state)
        if restored is None:
            outcomes["miss"] += 1
        else:
            assert restored.tokens == expected
            outcomes["restored"] += 1
        assert not list(tmp_path.glob(".*"))  # no temporary file survives a restart
    assert outcomes["restored"] > 0 and outcomes["interrupted"] > 0, outcomes
    print(outcomes)
    model.close()
