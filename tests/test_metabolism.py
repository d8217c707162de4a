"""States, the transition table, the ATP ledger and the metabolism, fed numbers for time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sage.errors import ConfigError
from sage.metabolism.ledger import Cost, Ledger, Meter
from sage.metabolism.metabolism import Metabolism
from sage.metabolism.states import (
    STATES_DIR,
    Event,
    Phase,
    State,
    due_event,
    load_settings,
    next_state,
    utterance_event,
)
from sage.trust.store import Store

W, F, D, R, C = State.WAKE, State.FOCUS, State.DREAM, State.REST, State.CRISIS
E = Event

TABLE = [
    (W, E.UTTERANCE, F), (R, E.UTTERANCE, F), (D, E.UTTERANCE, F), (F, E.UTTERANCE, F),
    (F, E.FOLLOW_UP, F), (F, E.IDLE_TIMEOUT, R), (W, E.IDLE_TIMEOUT, R),
    (W, E.SCHEDULE_FIRED, D), (R, E.SCHEDULE_FIRED, D), (F, E.SCHEDULE_FIRED, F),
    (C, E.SCHEDULE_FIRED, C), (D, E.RESOLVED, R), (D, E.IDLE_TIMEOUT, R),
    (D, E.BUDGET_EXHAUSTED, R), (W, E.BUDGET_EXHAUSTED, W), (F, E.BUDGET_EXHAUSTED, F),
    (C, E.RESOLVED, W), (C, E.IDLE_TIMEOUT, W), (C, E.UTTERANCE, C), (R, E.IDLE_TIMEOUT, R),
    *[(s, E.URGENT, C) for s in State],
    *[(s, E.REPEATED_FAILURE, C) for s in State],
]  # fmt: skip


@pytest.mark.parametrize(("state", "event", "expected"), TABLE)
def test_transition_table(state: State, event: Event, expected: State) -> None:
    after = next_state(Phase(state, 100.0), event, 250.0)
    assert after.state is expected
    assert after.entered_at == (100.0 if expected is state else 250.0)


def test_crisis_clock_is_not_restarted_by_more_failures() -> None:
    crisis = Phase(C, 10.0)
    assert next_state(crisis, E.REPEATED_FAILURE, 99.0) is crisis


def test_timers_fire_from_the_numbers_given() -> None:
    settings = load_settings()
    focus = settings[F]
    assert due_event(F, 0.0, 100.0, 100.0 + focus.idle_timeout_s - 0.1, focus) is None
    assert due_event(F, 0.0, 100.0, 100.0 + focus.idle_timeout_s, focus) is E.IDLE_TIMEOUT
    crisis = settings[C]
    # CRISIS is bounded from its start, however recently someone spoke.
    assert due_event(C, 0.0, 299.0, crisis.max_duration_s, crisis) is E.IDLE_TIMEOUT
    assert due_event(R, 0.0, 0.0, 1e9, settings[R]) is None  # REST waits for speech
    assert utterance_event(F, 100.0, 100.0 + focus.idle_timeout_s / 2, focus) is E.FOLLOW_UP
    assert utterance_event(W, 100.0, 101.0, focus) is E.UTTERANCE


def test_shipped_state_files_cover_every_state() -> None:
    settings = load_settings()
    assert set(settings) == set(State)
    assert settings[C].ignores_budget and not settings[W].ignores_budget
    assert not settings[R].keep_models_loaded and settings[R].unload_after_s  # REST unloads
    assert settings[C].tiers[-1] == "modifier"


@pytest.mark.parametrize(
    ("line", "message"),
    [("allowance_s = -1.0", "allowance_s must be ≥ 0"),
     ('tiers = ["oracle"]', "unknown tier 'oracle'"),
     ("nap_s = 3", "unknown key wake.toml: nap_s")],
)  # fmt: skip
def test_bad_state_file_names_the_key(tmp_path: Path, line: str, message: str) -> None:
    for path in STATES_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path)
    (tmp_path / "wake.toml").write_text(line + "\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path)


# -- the ledger ---------------------------------------------------------------------

operations = st.lists(
    st.tuples(st.sampled_from(["spend", "wait"]), st.floats(0, 500, allow_nan=False)),
    max_size=40,
)


@given(operations, st.floats(1, 1000), st.floats(0, 5))
def test_ledger_never_negative_and_never_above_capacity(
    ops: list[tuple[str, float]], capacity: float, rate: float
) -> None:
    ledger = Ledger(capacity, capacity, rate, 0.0)
    now = 0.0
    for op, amount in ops:
        before = ledger
        if op == "spend":
            ledger = ledger.spent(amount)
        else:
            now += amount
            ledger = ledger.refilled(now)
            assert ledger.balance - before.balance <= rate * amount + 1e-9  # refill bounded
        assert 0.0 <= ledger.balance <= capacity


@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=20))
def test_only_an_overdraft_goes_below_zero(costs: list[float]) -> None:
    ledger = Ledger(10.0, 10.0, 0.0, 0.0)
    for cost in costs:
        ledger = ledger.spent(cost, overdraft=True)
    assert ledger.balance == pytest.approx(10.0 - sum(costs))


def test_meter_measures_real_cpu_work() -> None:
    meter = Meter()
    stop = meter.start()
    sum(i * i for i in range(2_000_000))
    cost = stop()
    assert cost.cpu_s  # the busy loop was measured (never negative)
    assert meter.source in ("rapl", "nvml", "ina3221", "none")
    assert (cost.joules is None) == (meter.source == "none")


# -- the metabolism -----------------------------------------------------------------


def make(tmp_path: Path) -> tuple[Metabolism, Store]:
    store = Store(tmp_path / "sage.db")
    return Metabolism(load_settings(), store, tmp_path / "status.json", now=1000.0), store


def test_urgent_request_enters_crisis_and_times_out(tmp_path: Path) -> None:
    metabolism, store = make(tmp_path)
    assert metabolism.utterance("what's the weather", 1001.0).state is F
    assert metabolism.utterance("Help!", 1002.0).state is C
    assert metabolism.utterance("there is an emergency in the kitchen", 1003.0).state is C
    assert metabolism.allowance(1003.0).most_capable
    bound = metabolism.settings[C].max_duration_s
    assert metabolism.tick(1002.0 + bound).state is W
    rows = store.transitions()
    assert [(r["from_state"], r["to_state"]) for r in rows][:3] == [
        ("crisis", "wake"), ("focus", "crisis"), ("wake", "focus")]  # fmt: skip
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["state"] == "wake" and status["transitions"][0]["event"] == "idle_timeout"


def test_help_inside_a_request_is_not_urgent(tmp_path: Path) -> None:
    metabolism, _ = make(tmp_path)
    assert metabolism.utterance("can you help me with a recipe", 1001.0).state is F


def test_repeated_failures_enter_crisis_and_a_success_resolves_it(tmp_path: Path) -> None:
    metabolism, _ = make(tmp_path)
    metabolism.utterance("what is a monad", 1001.0)
    for t in (1002.0, 1003.0):
        metabolism.outcome(failed=True, now=t)
        assert metabolism.state is F
    metabolism.outcome(failed=True, now=1004.0)
    assert metabolism.state is C
    metabolism.spend(Cost(cpu_s=500.0), 1005.0)  # CRISIS ignores the budget
    assert metabolism.ledger.balance < 0
    metabolism.outcome(failed=False, now=1006.0)
    assert metabolism.state is W


def test_dream_ends_when_its_allowance_is_spent(tmp_path: Path) -> None:
    metabolism, _ = make(tmp_path)
    metabolism.handle(E.SCHEDULE_FIRED, 1001.0)
    assert metabolism.state is D
    assert metabolism.allowance(1001.0).budget_left_s == metabolism.settings[D].allowance_s
    metabolism.spend(Cost(cpu_s=metabolism.settings[D].allowance_s), 1002.0)
    assert metabolism.state is R
    assert metabolism.ledger.balance == 0.0


def test_a_cheap_tier_still_serves_an_empty_ledger(tmp_path: Path) -> None:
    metabolism, _ = make(tmp_path)
    metabolism.spend(Cost(cpu_s=1e6), 1001.0)
    allowance = metabolism.allowance(1001.0)
    assert allowance.budget_left_s == 0.0 and allowance.tiers  # never dropped
    later = metabolism.allowance(1001.0 + 60.0)
    assert later.budget_left_s == pytest.approx(metabolism.settings[W].refill_per_min)


def test_rest_unloads_only_after_its_timeout(tmp_path: Path) -> None:
    metabolism, _ = make(tmp_path)
    metabolism.utterance("tell me a joke", 1001.0)
    focus_ends = 1001.0 + metabolism.settings[F].idle_timeout_s
    assert metabolism.tick(focus_ends).state is R
    unload_after = metabolism.settings[R].unload_after_s
    assert not metabolism.should_unload(focus_ends + unload_after - 1)
    assert metabolism.should_unload(focus_ends + unload_after)
