"""The DREAM entry point: select the day's salient experiences, then work through them one
short unit at a time, yielding when someone speaks and resuming from the stored cursor.

A run is a row in the store's ``dream_runs`` table: its status (running, yielded, done),
its cursor (units finished) and its report (the selection, the held-out slice, what each
unit found). What the units do is a :class:`DreamWork`: the distillation of
:mod:`sage.dream.distill`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from sage.metabolism.ledger import Cost, Meter
from sage.trust.store import Store

_LOGGER = logging.getLogger(__name__)

SELECT_LIMIT = 256
"""Experiences a run looks at, most salient first."""
HOLDOUT_EVERY = 5
"""Every fifth selected experience is held out for validation, never trained on."""


class Yielded(Exception):
    """Raised by a unit that stopped part-way because someone spoke; it is done again."""


class DreamWork(Protocol):
    """What a DREAM run does, unit by unit (each unit well under a second)."""

    def units(self, report: dict[str, Any]) -> int:
        """How many units this run has (from the report's selection)."""
        ...

    def do(self, unit: int, report: dict[str, Any]) -> None:
        """Do one unit, recording what it found in ``report``."""
        ...


class Dreamer:
    """Runs DREAM work with yield and resume."""

    def __init__(self, store: Store, work: DreamWork, limit: int = SELECT_LIMIT) -> None:
        self._store = store
        self._work = work
        self._limit = limit
        """The most salient experiences a run selects (held-out slice included)."""

    def run(
        self,
        should_yield: Callable[[], bool],
        now: float,
        meter: Meter | None = None,
        spend: Callable[[Cost], None] | None = None,
    ) -> str:
        """Start or resume a run; "done" or "yielded". Each unit's measured cost is
        passed to ``spend`` (the ATP ledger)."""
        run = self._store.dream_run()
        if run is None or run["status"] == "done":
            run = self._new_run(run, now)
        else:
            _LOGGER.info("DREAM run %s resumes at unit %d", run["id"], run["cursor"])
        report = json.loads(run["report"])
        total = self._work.units(report)
        for unit in range(run["cursor"], total):
            if should_yield():
                self._save(run, "yielded", unit, report)
                _LOGGER.info("DREAM yielded at unit %d of %d", unit, total)
                return "yielded"
            measure = meter.start() if meter is not None else None
            try:
                self._work.do(unit, report)
            except Yielded:
                self._save(run, "yielded", unit, report)
                _LOGGER.info("DREAM yielded inside unit %d of %d", unit, total)
                return "yielded"
            if measure is not None and spend is not None:
                spend(measure())
            self._save(run, "running", unit + 1, report)
        self._save(run, "done", total, report)
        _LOGGER.info("DREAM run %s done: %d units", run["id"], total)
        return "done"

    def _new_run(self, last: dict[str, Any] | None, now: float) -> dict[str, Any]:
        since = last["started_at"] if last is not None else 0.0
        rows = self._store.salient_experiences(since, self._limit)
        ids = [row["id"] for row in rows]
        report: dict[str, Any] = {
            "run": int(now),
            "selected": [i for n, i in enumerate(ids) if n % HOLDOUT_EVERY != HOLDOUT_EVERY - 1],
            "held_out": [i for n, i in enumerate(ids) if n % HOLDOUT_EVERY == HOLDOUT_EVERY - 1],
        }
        run = {"started_at": now, "updated_at": now, "status": "running", "cursor": 0,
               "report": json.dumps(report)}  # fmt: skip
        run["id"] = self._store.save_dream_run(run)
        _LOGGER.info("DREAM run %s: %d selected, %d held out", run["id"],
                     len(report["selected"]), len(report["held_out"]))  # fmt: skip
        return run

    def _save(self, run: dict[str, Any], status: str, cursor: int, report: dict[str, Any]) -> None:
        run.update(status=status, cursor=cursor, updated_at=time.time(),
                   report=json.dumps(report))  # fmt: skip
        self._store.save_dream_run(run)
