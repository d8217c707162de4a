"""The DREAM entry point: select the day's salient experiences, then work through them one
short unit at a time, yielding when someone speaks and resuming from the stored cursor.

A run is a row in the store's ``dream_runs`` table: its status (running, yielded, done),
its cursor (units finished) and its report (the selection, the held-out slice, what each
unit found). What the units do is a :class:`DreamWork`: the distillation of
:mod:`sage.dream.distill`.

Selection (:func:`split_by_question`) compares questions by their content words (the
transcript's words less function words and fillers such as "what", "the", "hey",
"please"). The experiences since the last run are read most salient first; a question
whose content words overlap an earlier one's by ``REPEAT`` (Jaccard) collapses into it;
every fifth question is held out; and a training question that shares ``REPEAT`` of its
own or a held-out question's content words with a held-out question ("Quick question:
what is X?" against "What is X? Keep it short.") is set aside too, so that a paraphrase
cannot carry a held-out answer into training. The collapsed rephrasings of training
questions become the **repeat** slice (as many as there are held-out questions at most):
never trained on, they measure what DREAM is for, the questions this household asks
again (see :mod:`sage.dream.gate`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from sage.metabolism.ledger import Cost, Meter
from sage.trust.scoring import REPEAT, overlap, words
from sage.trust.store import Store

_LOGGER = logging.getLogger(__name__)

SELECT_LIMIT = 256
"""Distinct questions a run selects, most salient first (held-out slice included)."""
HOLDOUT_EVERY = 5
"""Every fifth selected question is held out for validation, never trained on."""
SCAN_FACTOR = 4
"""Experiences read per selected one (near-duplicates collapse)."""
FILLERS = frozenset(
    "a an the of to in on at for and or is are was were be do does did can could would "
    "what which who whom how why when where it its this that i me my you your we our "
    "hey hi okay ok please quick question tell just so keep short briefly".split()
)
"""Words that do not make two questions different."""


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

    def label(self, unit: int, report: dict[str, Any]) -> str:
        """What the unit does, in a few words (for progress bars and log lines)."""
        ...


Progress = Callable[[int, int, str], None]
"""Told (units done, units in all, what comes next) before each unit and at the end."""


def split_by_question(rows: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """The selection of a run from experiences, most salient first (module docstring)."""
    kept: list[tuple[int, frozenset[str]]] = []
    collapsed: list[tuple[int, int]] = []  # (id, the kept question it repeats)
    for row in rows:
        mine = words(row["transcript"]) - FILLERS
        same = next((i for i, theirs in kept if overlap(mine, theirs) >= REPEAT), None)
        if same is not None:
            collapsed.append((row["id"], same))
        elif len(kept) < limit:
            kept.append((row["id"], mine))
    held_out = kept[HOLDOUT_EVERY - 1 :: HOLDOUT_EVERY]
    train = [k for n, k in enumerate(kept) if n % HOLDOUT_EVERY != HOLDOUT_EVERY - 1]
    near = {i for i, mine in train if any(_contained(mine, h) for _, h in held_out)}
    selected = [i for i, _ in train if i not in near]
    trained = set(selected)
    repeats = [i for i, same in collapsed if same in trained]
    return {
        "selected": selected,
        "held_out": [i for i, _ in held_out],
        "repeats": repeats[: max(1, len(held_out))],
        "collapsed": len(collapsed),
        "near_held_out": len(near),
    }


def _contained(a: frozenset[str], b: frozenset[str]) -> bool:
    """One question's content words are (nearly all) the other's."""
    return bool(a and b) and len(a & b) >= REPEAT * min(len(a), len(b))


class Dreamer:
    """Runs DREAM work with yield and resume."""

    def __init__(self, store: Store, work: DreamWork, limit: int = SELECT_LIMIT) -> None:
        self._store = store
        self._work = work
        self._limit = limit

    def run(
        self,
        should_yield: Callable[[], bool],
        now: float,
        meter: Meter | None = None,
        spend: Callable[[Cost], None] | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Start or resume a run; "done" or "yielded". Each unit's measured cost is
        passed to ``spend`` (the ATP ledger); each unit is logged and told to ``progress``."""
        run = self._store.dream_run()
        if run is None or run["status"] == "done":
            run = self._new_run(run, now)
        else:
            _LOGGER.info("DREAM run %s resumes at unit %d", run["id"], run["cursor"])
        report = json.loads(run["report"])
        total = self._work.units(report)
        for unit in range(run["cursor"], total):
            label = self._work.label(unit, report)
            _LOGGER.info("DREAM %d/%d: %s", unit + 1, total, label)
            if progress is not None:
                progress(unit, total, label)
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
        if progress is not None:
            progress(total, total, "done")
        _LOGGER.info("DREAM run %s done: %d units", run["id"], total)
        return "done"

    def _new_run(self, last: dict[str, Any] | None, now: float) -> dict[str, Any]:
        since = last["started_at"] if last is not None else 0.0
        rows = self._store.salient_experiences(since, SCAN_FACTOR * self._limit)
        report: dict[str, Any] = {"run": int(now), **split_by_question(rows, self._limit)}
        run = {"started_at": now, "updated_at": now, "status": "running", "cursor": 0,
               "report": json.dumps(report)}  # fmt: skip
        run["id"] = self._store.save_dream_run(run)
        _LOGGER.info("DREAM run %s: %d selected, %d held out, %d near-duplicates collapsed, "
                     "%d set aside as near a held-out question", run["id"],
                     len(report["selected"]), len(report["held_out"]), report["collapsed"],
                     report["near_held_out"])  # fmt: skip
        return run

    def _save(self, run: dict[str, Any], status: str, cursor: int, report: dict[str, Any]) -> None:
        run.update(status=status, cursor=cursor, updated_at=time.time(),
                   report=json.dumps(report))  # fmt: skip
        self._store.save_dream_run(run)
