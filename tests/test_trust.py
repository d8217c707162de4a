"""Trust, context classes, SNARC (pure) and the experience store (SQLite)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sage.trust import scoring
from sage.trust.scoring import Previous, context_class, decayed, observe_outcome, updated
from sage.trust.store import TRUST_PRIORS, Experience, Store

NOW = 1_800_000_000.0
FRANCE = "what is the capital of france"


@pytest.mark.parametrize(
    ("said", "bare"),
    [("that's wrong", True), ("no that's not right", True), ("you're wrong", True),
     ("wrong", True), ("no", False), ("no that's wrong it's paris", False)],
)  # fmt: skip
def test_a_bare_correction_says_only_that_the_answer_was_wrong(said: str, bare: bool) -> None:
    assert bool(scoring.BARE_CORRECTION.match(said)) is bare


@pytest.mark.parametrize(
    ("previous", "said", "outcome"),
    [
        (None, "what time is it", None),
        (Previous(FRANCE, NOW - 10, "unknown"), "no, that's wrong", "corrected"),
        (Previous(FRANCE, NOW - 10, "unknown"), "What is the capital of France?", "repeated"),
        (Previous(FRANCE, NOW - 10, "unknown"), "great, thanks", "thanked"),
        (Previous(FRANCE, NOW - 10, "unknown"), "and of spain", "moved_on"),
        (Previous(FRANCE, NOW - 500, "unknown"), "no, that's wrong", None),
    ],
)  # fmt: skip
def test_observe_outcome(previous: Previous | None, said: str, outcome: str | None) -> None:
    assert observe_outcome(previous, said, NOW) == outcome


@pytest.mark.parametrize(
    ("previous", "history", "expected"),
    [
        (None, [], "novel"),
        (None, ["what is the capital of spain"], "stable"),
        (Previous("x", NOW - 30, "ok"), ["what is the capital of spain"], "moving"),
        (Previous("x", NOW - 30, "corrected"), ["what is the capital of spain"], "unstable"),
        (Previous("x", NOW - 3000, "corrected"), ["what is the capital of spain"], "stable"),
        (Previous("x", NOW - 30, "corrected"), ["how tall is everest"], "novel"),
    ],
)
def test_context_class(previous: Previous | None, history: list[str], expected: str) -> None:
    assert context_class("what is the capital of france", previous, history, NOW) == expected


scores = st.floats(0.0, 1.0)
outcomes = st.sampled_from(["corrected", "repeated", "failed", "thanked", "moved_on", "unknown"])


@given(scores, st.lists(outcomes, max_size=50))
def test_trust_stays_in_unit_interval(score: float, observed: list[str]) -> None:
    for outcome in observed:
        score = updated(score, outcome)
        assert 0.0 <= score <= 1.0


@given(scores, outcomes)
def test_failure_never_raises_and_success_never_lowers(score: float, outcome: str) -> None:
    after = updated(score, outcome)
    if outcome in scoring.FAILURES:
        assert after <= score
    elif outcome in scoring.SUCCESSES:
        assert after >= score
    else:
        assert after == score


@given(scores, scores, st.floats(0, 1e9), st.floats(0, 1e9))
def test_decay_moves_monotonically_toward_the_prior(
    score: float, prior: float, t1: float, t2: float
) -> None:
    early, late = sorted((t1, t2))
    a, b = decayed(score, prior, early), decayed(score, prior, late)
    assert abs(b - prior) <= abs(a - prior) + 1e-12
    assert min(score, prior) - 1e-12 <= b <= max(score, prior) + 1e-12
    assert decayed(score, prior, 0.0) == pytest.approx(score)


@given(st.text(max_size=80), st.floats(-1, 2), st.booleans(), outcomes)
def test_snarc_scores_are_in_unit_interval(
    text: str, unc: float, disagreed: bool, outcome: str
) -> None:
    s = scoring.snarc(text, ["what time is it", text[:5]], unc, disagreed, outcome)
    for value in (s.surprise, s.novelty, s.arousal, s.reward, s.conflict, s.salience):
        assert 0.0 <= value <= 1.0


def test_snarc_ranks_a_corrected_novel_urgent_turn_above_a_routine_one() -> None:
    routine = scoring.snarc("what time is it", ["what time is it"], 0.0, False, "moved_on")
    salient = scoring.snarc(
        "help, the heater is smoking!", ["what time is it"], 0.6, True, "corrected"
    )
    assert salient.salience > routine.salience


def experience(text: str, route: str = "llm", tier: str = "base") -> Experience:
    return Experience(
        at=NOW, transcript=text, route=route, tier=tier, asr_tier="text", reply="r",
        context="novel", timings={"match": 0.1}, uncertainty={},
        snarc=scoring.snarc(text, [], 0.2, False),
    )  # fmt: skip


def test_store_round_trip_and_trust(tmp_path: Path) -> None:
    store = Store(tmp_path / "sage.db")
    first = store.record(experience("what is the capital of france"))
    assert first is not None
    assert store.history() == ["what is the capital of france"]
    assert store.trust("novel", "base", NOW) == TRUST_PRIORS["base"]
    store.observe(first, "corrected", "novel", "base", NOW)
    assert store.trust("novel", "base", NOW) == pytest.approx(TRUST_PRIORS["base"] - 0.05)
    row = store.experiences()[0]
    assert (row["outcome"], row["reward"], row["conflict"]) == ("corrected", 0.0, 1.0)
    store.close()
    reopened = Store(tmp_path / "sage.db")  # migrations are not re-run
    assert len(reopened.experiences()) == 1
    assert reopened.db is not None
    assert reopened.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_corrupt_database_is_moved_aside_and_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sage.db"
    path.write_bytes(b"this is not a database, just bytes " * 200)
    store = Store(path)
    assert store.available
    assert store.record(experience("hello")) is not None
    aside = list(tmp_path.glob("sage.db.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    assert any("moved to" in r.message for r in caplog.records)


def test_locked_database_does_not_stop_the_turn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sage.db"
    store = Store(path, busy_timeout_s=0.1)
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        for _ in range(3):
            assert store.record(experience("hello")) is None  # degraded, not raised
    finally:
        holder.rollback()
        holder.close()
    failures = [r for r in caplog.records if "answering without memory" in r.message]
    assert len(failures) == 1  # logged once
    assert store.record(experience("hello again")) is not None


def test_store_is_usable_from_the_worker_thread(tmp_path: Path) -> None:
    store = Store(tmp_path / "sage.db")
    done: list[int | None] = []
    worker = threading.Thread(target=lambda: done.append(store.record(experience("x"))))
    worker.start()
    worker.join()
    assert done == [1]
