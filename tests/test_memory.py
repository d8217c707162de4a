"""The pipeline remembers every answered turn, and answers even when its store cannot."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sage.audio.io import NullSink
from sage.catalog import ModelCache
from sage.config import Config
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.pipeline import Pipeline
from sage.trust.store import Store


def make(config: Config, models: ModelCache, store: Store) -> Pipeline:
    return Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink(), store=store)


def test_every_route_leaves_an_experience(
    config: Config, models: ModelCache, tmp_path: Path
) -> None:
    pipe = make(config, models, Store(tmp_path / "sage.db"))
    turns = [pipe.ask(q) for q in ("Hello there", "what is 6 times 7", "Name a primary colour.",
                                    "no, that's wrong, name another")]  # fmt: skip
    assert [t.tier for t in turns] == ["pattern", "deterministic", "base", "base"]
    assert store_rows(pipe)[0]["context"] == "novel"
    rows = store_rows(pipe)
    assert [r["route"] for r in rows] == ["pattern", "deterministic", "llm", "llm"]
    assert rows[2]["outcome"] == "corrected"  # observed from the next turn
    assert all(0 <= r["salience"] <= 1 and json.loads(r["timings"]) for r in rows)
    calls = pipe.store.model_calls()  # type: ignore[union-attr]
    assert [c["tier"] for c in calls] == ["base", "base"]
    assert all(c["completion_tokens"] > 0 and c["latency_ms"] is not None for c in calls)
    pipe.close()


def store_rows(pipe: Pipeline) -> list[dict]:  # type: ignore[type-arg]
    assert pipe.store is not None
    return pipe.store.experiences()


def test_locked_store_still_answers(config: Config, models: ModelCache, tmp_path: Path) -> None:
    path = tmp_path / "sage.db"
    pipe = make(config, models, Store(path, busy_timeout_s=0.1))
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        turn = pipe.ask("what is 6 times 7")
    finally:
        holder.rollback()
        holder.close()
    assert turn.reply == "6 times 7 is 42."
    pipe.close()


def test_corrupt_store_still_answers(config: Config, models: ModelCache, tmp_path: Path) -> None:
    path = tmp_path / "sage.db"
    path.write_bytes(b"\x00garbage" * 1000)
    pipe = make(config, models, Store(path))
    assert pipe.ask("Hello there").rule == "greeting"
    assert len(store_rows(pipe)) == 1
    pipe.close()
