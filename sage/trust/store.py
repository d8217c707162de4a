"""The experience and trust store: SQLite through sqlite-utils, WAL, schema in migrations.

One writer (the pipeline's thread). Every method is safe to call when the database is
locked or corrupt: the failure is logged once and the turn goes on without memory. A
corrupt file is moved aside (never deleted) and a fresh database started.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlite_utils

from sage.trust import scoring

_LOGGER = logging.getLogger(__name__)

MIGRATIONS = [
    """
    CREATE TABLE experiences (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        transcript TEXT NOT NULL,
        route TEXT NOT NULL,
        tier TEXT NOT NULL,
        asr_tier TEXT NOT NULL,
        reply TEXT NOT NULL,
        context TEXT NOT NULL,
        timings TEXT NOT NULL,
        uncertainty TEXT NOT NULL,
        outcome TEXT NOT NULL DEFAULT 'unknown',
        surprise REAL NOT NULL, novelty REAL NOT NULL, arousal REAL NOT NULL,
        reward REAL NOT NULL, conflict REAL NOT NULL, salience REAL NOT NULL,
        error TEXT
    );
    CREATE INDEX experiences_at ON experiences(at);
    CREATE INDEX experiences_salience ON experiences(salience);
    CREATE TABLE trust (
        context TEXT NOT NULL,
        tier TEXT NOT NULL,
        score REAL NOT NULL,
        updated_at REAL NOT NULL,
        successes INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (context, tier)
    );
    CREATE TABLE model_calls (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        role TEXT NOT NULL,
        model TEXT NOT NULL,
        tier TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        latency_ms REAL NOT NULL,
        outcome TEXT NOT NULL
    );
    """,
    """
    ALTER TABLE experiences ADD COLUMN domain TEXT NOT NULL DEFAULT '';
    """,
    """
    ALTER TABLE experiences ADD COLUMN cpu_s REAL;
    ALTER TABLE experiences ADD COLUMN joules REAL;
    ALTER TABLE experiences ADD COLUMN state TEXT NOT NULL DEFAULT '';
    CREATE TABLE transitions (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        from_state TEXT NOT NULL,
        event TEXT NOT NULL,
        to_state TEXT NOT NULL
    );
    CREATE TABLE dream_runs (
        id INTEGER PRIMARY KEY,
        started_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        status TEXT NOT NULL,
        cursor INTEGER NOT NULL DEFAULT 0,
        report TEXT NOT NULL DEFAULT '{}'
    );
    """,
    """
    CREATE TABLE service_audit (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        transcript TEXT NOT NULL,
        source TEXT NOT NULL,
        verb TEXT NOT NULL,
        unit TEXT NOT NULL,
        decision TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    """,
]

TRUST_PRIORS = {"pattern": 0.9, "deterministic": 0.95, "draft": 0.6, "base": 0.8, "modifier": 0.8}
"""Where trust starts, and where it decays back to, per tier."""

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Experience:
    """One turn as remembered."""

    at: float
    transcript: str
    route: str
    tier: str
    asr_tier: str
    reply: str
    context: str
    timings: dict[str, float]
    uncertainty: dict[str, float]
    snarc: scoring.Snarc
    error: str | None = None
    domain: str = ""
    """code / math / home / general, for the language-model tiers."""
    cpu_s: float | None = None
    """Measured CPU-seconds of the turn (what the ATP ledger was charged)."""
    joules: float | None = None
    """Measured energy, where the host has a power sensor."""
    state: str = ""
    """Metabolic state the turn was answered in."""


def _guarded(default: Callable[[], Any]) -> Callable[[F], F]:
    """Run a store method; on a database error log once, and return ``default()``."""

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def guarded(self: Store, *args: Any, **kwargs: Any) -> Any:
            if self.db is None:
                return default()
            try:
                return method(self, *args, **kwargs)
            except sqlite3.DatabaseError as exc:
                self._failed(method.__name__, exc)
                return default()

        return cast(F, guarded)

    return wrap


class Store:
    """Experiences, trust and the model-call audit, in one SQLite file."""

    def __init__(self, path: Path, busy_timeout_s: float = 2.0) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._reported: set[str] = set()
        self.db: sqlite_utils.Database | None = None
        try:
            self.db = self._open()
        except sqlite3.DatabaseError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                self._failed("open", exc)
                return
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            _LOGGER.error("%s is unreadable (%s); moved to %s, starting afresh", path, exc, aside)
            path.replace(aside)
            for suffix in ("-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            try:
                self.db = self._open()
            except sqlite3.DatabaseError as again:
                self._failed("open", again)

    def _open(self) -> sqlite_utils.Database:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA quick_check").fetchall()
        db.enable_wal()
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for number, migration in enumerate(MIGRATIONS[version:], version + 1):
            with db.atomic():
                db.executescript(migration)
                db.execute(f"PRAGMA user_version = {number}")
        return db

    def _failed(self, what: str, exc: Exception) -> None:
        key = f"{what}:{type(exc).__name__}:{exc}"
        if key not in self._reported:
            self._reported.add(key)
            _LOGGER.error("experience store %s failed (%s); answering without memory", what, exc)

    @property
    def available(self) -> bool:
        """True when the database opened."""
        return self.db is not None

    # -- reads ---------------------------------------------------------------------

    @_guarded(lambda: None)
    def previous(self) -> tuple[int, scoring.Previous, str, str] | None:
        """The last experience: (id, what the scorer needs, its context, its tier)."""
        assert self.db is not None
        rows = list(self.db.query("SELECT * FROM experiences ORDER BY id DESC LIMIT 1"))
        if not rows:
            return None
        row = rows[0]
        previous = scoring.Previous(row["transcript"], row["at"], row["outcome"])
        return row["id"], previous, row["context"], row["tier"]

    @_guarded(list)
    def history(self, limit: int = 500) -> list[str]:
        """Recent transcripts, newest first."""
        assert self.db is not None
        sql = "SELECT transcript FROM experiences ORDER BY id DESC LIMIT ?"
        return [row["transcript"] for row in self.db.query(sql, [limit])]

    @_guarded(lambda: 0.0)
    def trust(self, context: str, tier: str, now: float) -> float:
        """Trust in a tier for a context class, decayed toward its prior."""
        assert self.db is not None
        prior = TRUST_PRIORS.get(tier, 0.5)
        sql = "SELECT score, updated_at FROM trust WHERE context = ? AND tier = ?"
        rows = list(self.db.query(sql, [context, tier]))
        if not rows:
            return prior
        return scoring.decayed(rows[0]["score"], prior, now - rows[0]["updated_at"])

    @_guarded(list)
    def experiences(self) -> list[dict[str, Any]]:
        """Every experience row (oldest first)."""
        assert self.db is not None
        return list(self.db.query("SELECT * FROM experiences ORDER BY id"))

    @_guarded(lambda: None)
    def experience(self, experience_id: int) -> dict[str, Any] | None:
        """One experience row, or None."""
        assert self.db is not None
        rows = list(self.db.query("SELECT * FROM experiences WHERE id = ?", [experience_id]))
        return rows[0] if rows else None

    @_guarded(list)
    def model_calls(self) -> list[dict[str, Any]]:
        """Every audited model call (oldest first)."""
        assert self.db is not None
        return list(self.db.query("SELECT * FROM model_calls ORDER BY id"))

    # -- writes --------------------------------------------------------------------

    @_guarded(lambda: None)
    def record(self, experience: Experience) -> int | None:
        """Store one turn; returns its id."""
        assert self.db is not None
        s = experience.snarc
        with self.db.atomic():
            table = self.db.table("experiences")
            table.insert(
                {
                    "at": experience.at,
                    "transcript": experience.transcript,
                    "route": experience.route,
                    "tier": experience.tier,
                    "asr_tier": experience.asr_tier,
                    "reply": experience.reply,
                    "context": experience.context,
                    "timings": json.dumps(experience.timings),
                    "uncertainty": json.dumps(experience.uncertainty),
                    "surprise": s.surprise,
                    "novelty": s.novelty,
                    "arousal": s.arousal,
                    "reward": s.reward,
                    "conflict": s.conflict,
                    "salience": s.salience,
                    "error": experience.error,
                    "domain": experience.domain,
                    "cpu_s": experience.cpu_s,
                    "joules": experience.joules,
                    "state": experience.state,
                }
            )
            return table.last_rowid

    @_guarded(lambda: None)
    def observe(
        self, experience_id: int, outcome: str, context: str, tier: str, now: float
    ) -> None:
        """Record what the next turn showed about an earlier one, and move trust."""
        assert self.db is not None
        row = self.db.table("experiences").get(experience_id)
        before = scoring.Snarc(
            row["surprise"], row["novelty"], row["arousal"], row["reward"], row["conflict"]
        )
        reward = scoring.reward_for(outcome)
        conflict = 1.0 if outcome in scoring.FAILURES else before.conflict
        after = scoring.Snarc(before.surprise, before.novelty, before.arousal, reward, conflict)
        with self.db.atomic():
            self.db.table("experiences").update(
                experience_id,
                {"outcome": outcome, "reward": reward, "conflict": conflict,
                 "salience": after.salience},
            )  # fmt: skip
            self._move_trust(context, tier, outcome, now)

    @_guarded(lambda: None)
    def adjust_trust(self, context: str, tier: str, outcome: str, now: float) -> None:
        """Move trust on an outcome seen within the turn (an answer too unsure to speak)."""
        assert self.db is not None
        with self.db.atomic():
            self._move_trust(context, tier, outcome, now)

    @_guarded(lambda: None)
    def raise_trust(self, context: str, tier: str, by: float, now: float) -> None:
        """Raise trust by a measured gain (a DREAM promotion's validation figure), to at most 1."""
        assert self.db is not None
        score = min(1.0, self.trust(context, tier, now) + by)
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO trust (context, tier, score, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (context, tier) DO UPDATE SET score = excluded.score, "
                "updated_at = excluded.updated_at",
                [context, tier, score, now],
            )

    def _move_trust(self, context: str, tier: str, outcome: str, now: float) -> None:
        assert self.db is not None
        score = scoring.updated(self.trust(context, tier, now), outcome)
        failed = outcome in scoring.FAILURES
        self.db.execute(
            "INSERT INTO trust (context, tier, score, updated_at, successes, failures) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (context, tier) DO UPDATE SET "
            "score = excluded.score, updated_at = excluded.updated_at, "
            "successes = successes + excluded.successes, "
            "failures = failures + excluded.failures",
            [context, tier, score, now, int(not failed), int(failed)],
        )

    @_guarded(lambda: None)
    def record_call(
        self,
        role: str,
        model: str,
        tier: str,
        prompt_tokens: int,
        completion_tokens: int,
        latency_ms: float,
        outcome: str,
    ) -> None:
        """Audit one model call."""
        assert self.db is not None
        with self.db.atomic():
            self.db.table("model_calls").insert(
                {"at": time.time(), "role": role, "model": model, "tier": tier,
                 "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "latency_ms": latency_ms, "outcome": outcome}
            )  # fmt: skip

    @_guarded(lambda: None)
    def record_transition(self, at: float, from_state: str, event: str, to_state: str) -> None:
        """Persist one metabolic transition."""
        assert self.db is not None
        with self.db.atomic():
            self.db.table("transitions").insert(
                {"at": at, "from_state": from_state, "event": event, "to_state": to_state}
            )

    @_guarded(lambda: None)
    def audit_service(
        self, transcript: str, source: str, verb: str, unit: str, decision: str, detail: str
    ) -> None:
        """One voice-control event: request, confirmation, refusal or result."""
        assert self.db is not None
        with self.db.atomic():
            self.db.table("service_audit").insert(
                {"at": time.time(), "transcript": transcript, "source": source, "verb": verb,
                 "unit": unit, "decision": decision, "detail": detail}
            )  # fmt: skip

    @_guarded(list)
    def service_audit(self) -> list[dict[str, Any]]:
        """Every voice-control event, oldest first."""
        assert self.db is not None
        return list(self.db.query("SELECT * FROM service_audit ORDER BY id"))

    @_guarded(list)
    def transitions(self, limit: int = 10) -> list[dict[str, Any]]:
        """The last transitions, newest first."""
        assert self.db is not None
        sql = "SELECT at, from_state, event, to_state FROM transitions ORDER BY id DESC LIMIT ?"
        return list(self.db.query(sql, [limit]))

    @_guarded(lambda: None)
    def decay_trust(self, now: float) -> None:
        """Write every trust score's decay toward its prior (reads decay lazily anyway;
        this keeps the table honest for reports)."""
        assert self.db is not None
        with self.db.atomic():
            for row in list(self.db.query("SELECT context, tier FROM trust")):
                score = self.trust(row["context"], row["tier"], now)
                self.db.execute(
                    "UPDATE trust SET score = ?, updated_at = ? WHERE context = ? AND tier = ?",
                    [score, now, row["context"], row["tier"]],
                )

    @_guarded(lambda: None)
    def dream_run(self) -> dict[str, Any] | None:
        """The last DREAM run (its cursor says where a resumed run picks up)."""
        assert self.db is not None
        rows = list(self.db.query("SELECT * FROM dream_runs ORDER BY id DESC LIMIT 1"))
        return rows[0] if rows else None

    @_guarded(list)
    def dream_runs(self, limit: int = 5) -> list[dict[str, Any]]:
        """The last DREAM runs, newest first, with their reports decoded."""
        assert self.db is not None
        rows = self.db.query("SELECT * FROM dream_runs ORDER BY id DESC LIMIT ?", [limit])
        return [{**row, "report": json.loads(row["report"])} for row in rows]

    @_guarded(lambda: None)
    def save_dream_run(self, run: dict[str, Any]) -> int | None:
        """Insert or update a DREAM run; returns its id."""
        assert self.db is not None
        with self.db.atomic():
            table = self.db.table("dream_runs")
            if run.get("id") is None:
                table.insert({k: v for k, v in run.items() if k != "id"})
                return table.last_rowid
            table.update(run["id"], run)
            return int(run["id"])

    @_guarded(list)
    def salient_experiences(self, since: float, limit: int) -> list[dict[str, Any]]:
        """Experiences since ``since``, most salient first, one per distinct transcript."""
        assert self.db is not None
        sql = (
            "SELECT * FROM experiences WHERE at >= ? AND id IN (SELECT max(id) FROM "
            "experiences WHERE at >= ? GROUP BY lower(transcript)) "
            "ORDER BY salience DESC, id LIMIT ?"
        )
        return list(self.db.query(sql, [since, since, limit]))

    def close(self) -> None:
        """Close the database."""
        if self.db is not None:
            self.db.close()
            self.db = None
