"""The metabolism: the current state, the ATP ledger, and what each transition sets off.

The daemon tells it what happened (an utterance, an outcome, a measured cost, the time);
it decides through the pure :func:`~sage.metabolism.states.next_state`, persists each
transition, and calls its listeners (the pipeline unloads models on REST, snapshots the
session when FOCUS ends, ...). Its status is written atomically to ``status.json`` in the
state directory after each change, which ``sage status`` reads from another process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sage.fsutil import atomic_write_bytes
from sage.metabolism.ledger import Cost, Ledger
from sage.metabolism.states import (
    Event,
    Phase,
    State,
    StateSettings,
    due_event,
    next_state,
    utterance_event,
)
from sage.trust.store import Store

_LOGGER = logging.getLogger(__name__)

URGENT = re.compile(r"\bemergenc(y|ies)\b|^\W*(help|help me|please help( me)?|urgent)\W*$", re.I)
"""An urgent request: "emergency" anywhere, or a short cry of "help" on its own
("can you help me with a recipe" is not urgent)."""
STATUS_FILE = "status.json"
"""In the state directory; what ``sage status`` reads."""
FAILURES_FOR_CRISIS = 3
"""Consecutive turns the user showed were unsatisfactory before CRISIS."""


@dataclass(frozen=True)
class Allowance:
    """What the cascade may spend on one turn."""

    budget_left_s: float
    """CPU-seconds left in the ledger."""
    tiers: tuple[str, ...]
    """Language-model tiers this state allows."""
    most_capable: bool = False
    """CRISIS: the most capable allowed tier answers, whatever the budget."""


Listener = Callable[[Phase, Phase, Event], None]


class Metabolism:
    """State, ledger and transition log; thread-safe (the scheduler calls in too)."""

    def __init__(
        self,
        settings: dict[State, StateSettings],
        store: Store | None,
        status_path: Path | None,
        now: float,
    ) -> None:
        self.settings = settings
        self._store = store
        self._status_path = status_path
        self.phase = Phase(State.WAKE, now)
        wake = settings[State.WAKE]
        self.ledger = Ledger(wake.allowance_s, wake.allowance_s, wake.refill_per_s, now)
        self.last_utterance_at = now
        self.failures = 0
        self.models: list[str] = []
        """Loaded models, as the pipeline reports them."""
        self.passed_over: dict[str, list[str]] = {}
        """Per cascade tier, the request domains it is passed over for (pipeline's report)."""
        self.listening = True
        """False after "stop listening": utterances are not answered or kept until "start
        listening" (a restart listens again)."""
        self.jobs: dict[str, str | None] = {}
        """Next run time of each scheduled job, as the daemon reports them."""
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()
        self._recent: list[dict[str, Any]] = []
        self._status_failing = False

    @property
    def state(self) -> State:
        return self.phase.state

    @property
    def current(self) -> StateSettings:
        return self.settings[self.phase.state]

    def listen(self, listener: Listener) -> None:
        """Call ``listener(before, after, event)`` on every change of state."""
        self._listeners.append(listener)

    def handle(self, event: Event, now: float) -> Phase:
        """Apply one event."""
        with self._lock:
            before = self.phase
            after = next_state(before, event, now)
            if after is before:
                return before
            self.phase = after
            settings = self.settings[after.state]
            ledger = self.ledger.refilled(now)
            if after.state is State.DREAM:  # the night's allowance is granted at its start
                ledger = Ledger(settings.allowance_s, settings.allowance_s, 0.0, now)
            self.ledger = ledger.with_allowance(settings.allowance_s, settings.refill_per_s)
            _LOGGER.info("state %s → %s on %s", before.state, after.state, event)
            record = {"at": now, "from_state": before.state.value, "event": event.value,
                      "to_state": after.state.value}  # fmt: skip
            self._recent = [record, *self._recent][:10]
            if self._store is not None:
                self._store.record_transition(now, before.state, event, after.state)
        for listener in self._listeners:
            try:
                listener(before, after, event)
            except Exception:  # a listener's failure must not stop the state machine
                _LOGGER.exception("transition listener failed")
        self.write_status(now)
        return after

    def utterance(self, text: str, now: float) -> Phase:
        """A transcript arrived (before it is answered)."""
        with self._lock:
            if URGENT.search(text):
                event = Event.URGENT
            else:
                event = utterance_event(self.state, self.last_utterance_at, now,
                                        self.settings[State.FOCUS])  # fmt: skip
            self.last_utterance_at = now
        return self.handle(event, now)

    def outcome(self, failed: bool, now: float) -> None:
        """What the user's next turn showed about the previous answer."""
        with self._lock:
            self.failures = self.failures + 1 if failed else 0
            event = None
            if self.failures >= FAILURES_FOR_CRISIS:
                event = Event.REPEATED_FAILURE
                self.failures = 0
            elif not failed and self.state is State.CRISIS:
                event = Event.RESOLVED
        if event is not None:
            self.handle(event, now)

    def tick(self, now: float) -> Phase:
        """Fire a timer event when one is due."""
        event = due_event(self.state, self.phase.entered_at, self.last_utterance_at, now,
                          self.current)  # fmt: skip
        return self.handle(event, now) if event is not None else self.phase

    def should_unload(self, now: float) -> bool:
        """REST has lasted long enough to free the big models."""
        settings = self.current
        return (
            not settings.keep_models_loaded
            and now - self.phase.entered_at >= settings.unload_after_s
        )

    def allowance(self, now: float) -> Allowance:
        """What the next turn may spend."""
        with self._lock:
            self.ledger = self.ledger.refilled(now)
            settings = self.current
            return Allowance(self.ledger.balance, settings.tiers, settings.ignores_budget)

    def spend(self, cost: Cost, now: float) -> None:
        """Charge a measured cost; in DREAM an empty ledger ends the night's work."""
        with self._lock:
            self.ledger = self.ledger.refilled(now).spent(cost.cpu_s, self.current.ignores_budget)
            exhausted = self.ledger.balance <= 0 and self.state is State.DREAM
        if exhausted:
            self.handle(Event.BUDGET_EXHAUSTED, now)
        self.write_status(now)

    def status(self, now: float) -> dict[str, Any]:
        """State, time in state, budget, loaded models, the tiers passed over and the last
        transitions."""
        with self._lock:
            ledger = self.ledger.refilled(now)
            return {
                "pid": os.getpid(),
                "state": self.state.value,
                "since": self.phase.entered_at,
                "time_in_state_s": round(now - self.phase.entered_at, 1),
                "budget_left_s": round(ledger.balance, 2),
                "budget_capacity_s": ledger.capacity,
                "models": list(self.models),
                "passed_over": dict(self.passed_over),
                "listening": self.listening,
                "jobs": dict(self.jobs),
                "transitions": list(self._recent),
                "updated_at": now,
            }

    def write_status(self, now: float) -> None:
        """Atomically replace status.json (read by ``sage status``)."""
        if self._status_path is None:
            return
        try:
            atomic_write_bytes(self._status_path, json.dumps(self.status(now)).encode())
            self._status_failing = False
        except OSError as exc:
            if not self._status_failing:  # logged once until it works again
                _LOGGER.warning("status not written: %s", exc)
            self._status_failing = True
