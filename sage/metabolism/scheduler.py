"""Scheduled jobs on APScheduler 3.x with its job store in SQLite.

Jobs: the nightly DREAM (cron, ``metabolism.dream_at`` local time), the heartbeat (budget
refill, state timers, status.json), trust decay and snapshot housekeeping. Every job has
``coalesce=True`` (runs missed while SAGE was down collapse into one), ``max_instances=1``
and an explicit ``misfire_grace_time``. Jobs already in the store are kept as they are
when their trigger is unchanged, so a DREAM missed during a restart still fires within
its grace time.

APScheduler's persistent store keeps a textual reference to a module-level function, so
jobs call :func:`run_job` with the job's name, and the one :class:`Scheduler` of the
process registers the live handlers in ``_HANDLERS``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import DatabaseError

from sage.config import MetabolismConfig

_LOGGER = logging.getLogger(__name__)

_HANDLERS: dict[str, Callable[[], None]] = {}
_RUNNING: dict[str, threading.Lock] = {}
"""One lock per handler: ``max_instances`` is per job id, and a retry is another job."""


def run_job(name: str) -> None:
    """The function every stored job names; it calls the live handler, one at a time."""
    handler = _HANDLERS.get(name)
    if handler is None:
        _LOGGER.warning("job %s has no handler in this process; skipped", name)
        return
    lock = _RUNNING.setdefault(name, threading.Lock())
    if not lock.acquire(blocking=False):
        _LOGGER.info("job %s is already running; this trigger is skipped", name)
        return
    try:
        handler()
    finally:
        lock.release()


class Scheduler:
    """SAGE's background jobs, persisted in ``<state_dir>/jobs.db``."""

    def __init__(
        self,
        db_path: Path,
        config: MetabolismConfig,
        handlers: dict[str, Callable[[], None]],
        timezone: Any = None,
    ) -> None:
        self.config = config
        self._db_path = db_path
        self._timezone = timezone
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._scheduler = self._make()
        _HANDLERS.clear()
        _HANDLERS.update(handlers)

    def _make(self) -> BackgroundScheduler:
        return BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{self._db_path}")},
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            **({"timezone": self._timezone} if self._timezone is not None else {}),
        )

    def triggers(self) -> dict[str, tuple[Any, int]]:
        """Each job's trigger and misfire grace time (seconds)."""
        config = self.config
        hour, minute = (int(part) for part in config.dream_at.split(":"))
        tz = self._scheduler.timezone
        return {
            "dream": (CronTrigger(hour=hour, minute=minute, timezone=tz),
                      config.dream_misfire_grace_s),
            "heartbeat": (IntervalTrigger(seconds=config.heartbeat_s, timezone=tz),
                          config.heartbeat_s),
            "trust_decay": (IntervalTrigger(seconds=config.trust_decay_every_s, timezone=tz),
                            config.trust_decay_every_s),
            "housekeeping": (IntervalTrigger(seconds=config.housekeeping_every_s, timezone=tz),
                             config.housekeeping_every_s),
        }  # fmt: skip

    def start(self, paused: bool = False) -> None:
        """Start the scheduler thread with every job in place. An unreadable job store is
        moved aside (logged) and the jobs start afresh from the config."""
        try:
            self._scheduler.start(paused=True)
        except DatabaseError as exc:
            aside = self._db_path.with_name(f"{self._db_path.name}.corrupt-{int(time.time())}")
            _LOGGER.error("job store %s unreadable (%s); moved to %s, jobs start afresh",
                          self._db_path, exc.orig, aside)  # fmt: skip
            self._db_path.replace(aside)
            self._scheduler = self._make()
            self._scheduler.start(paused=True)
        for name, (trigger, grace) in self.triggers().items():
            job = self._scheduler.get_job(name)
            if job is not None and str(job.trigger) == str(trigger):
                continue  # keep its next run time: a missed run may still be due
            self._scheduler.add_job(
                run_job, trigger, args=[name], id=name, name=name, replace_existing=True,
                misfire_grace_time=grace, coalesce=True, max_instances=1,
            )  # fmt: skip
        if not paused:
            self._scheduler.resume()

    def retry_later(self, name: str, now: datetime) -> None:
        """Run ``name`` once more after ``dream_retry_s`` (DREAM deferred or yielded)."""
        when = now + timedelta(seconds=self.config.dream_retry_s)
        self._scheduler.add_job(
            run_job, DateTrigger(when, timezone=self._scheduler.timezone), args=[name],
            id=f"{name}-retry", name=f"{name}-retry", replace_existing=True,
            misfire_grace_time=self.config.dream_misfire_grace_s, coalesce=True,
            max_instances=1,
        )  # fmt: skip

    def next_runs(self) -> dict[str, str | None]:
        """Each job's next run time, ISO 8601."""
        return {
            job.id: job.next_run_time.isoformat() if job.next_run_time else None
            for job in self._scheduler.get_jobs()
        }

    def shutdown(self, wait_s: float = 10.0) -> None:
        """Stop triggering jobs, then wait up to ``wait_s`` for a running handler.

        APScheduler's own ``shutdown(wait=True)`` holds its job-store lock while it waits,
        so a job that reads the schedule (the heartbeat does) would deadlock it; the wait
        is on SAGE's per-handler locks instead, after the scheduler has let go.
        """
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for name, lock in list(_RUNNING.items()):
            if lock.acquire(timeout=wait_s):
                lock.release()
            else:
                _LOGGER.error("job %s still running after %.0f s; leaving it", name, wait_s)
        _HANDLERS.clear()
