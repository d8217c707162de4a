"""Scheduler semantics on APScheduler with a SQLite job store and a frozen clock:
misfire grace, coalescing, one instance at a time, and jobs kept across restarts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import apscheduler.executors.base
import apscheduler.schedulers.base
import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

from sage.config import MetabolismConfig
from sage.metabolism.scheduler import Scheduler

CONFIG = MetabolismConfig(dream_at="03:00", dream_misfire_grace_s=3600)


class Clock:
    """A frozen ``datetime`` for APScheduler's modules; tests move ``at`` by hand."""

    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch) -> None:
        class Frozen(datetime):
            @classmethod
            def now(cls_, tz=None):  # type: ignore[no-untyped-def]  # noqa: N805
                return cls.at.astimezone(tz) if tz else cls.at.replace(tzinfo=None)

        for module in (apscheduler.schedulers.base, apscheduler.executors.base):
            monkeypatch.setattr(module, "datetime", Frozen)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Clock]]:
    Clock.at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    Clock.install(monkeypatch)
    yield Clock


class Recorder:
    """Counts runs of the dream job and the scheduler's events about it."""

    def __init__(self, block: threading.Event | None = None) -> None:
        self.runs = 0
        self.events: list[int] = []
        self.block = block
        self.changed = threading.Condition()

    def dream(self) -> None:
        self.runs += 1
        if self.block is not None:
            self.block.wait(10)

    def on_event(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.job_id.startswith("dream"):
            with self.changed:
                self.events.append(event.code)
                self.changed.notify_all()

    def wait_for(self, count: int) -> list[int]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.events) >= count, timeout=10)
        return self.events


def scheduler(tmp_path: Path, recorder: Recorder) -> Scheduler:
    jobs = Scheduler(tmp_path / "jobs.db", CONFIG, {"dream": recorder.dream}, timezone=UTC)
    jobs._scheduler.add_listener(
        recorder.on_event, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
    )
    return jobs


def fire(jobs: Scheduler) -> None:
    """Let the scheduler look at its jobs once, at the frozen time."""
    jobs._scheduler.wakeup()


def test_dream_is_scheduled_nightly_with_explicit_job_options(tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    jobs = scheduler(tmp_path, Recorder())
    jobs.start(paused=True)
    dream = jobs._scheduler.get_job("dream")
    assert dream.next_run_time == datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    assert (dream.misfire_grace_time, dream.max_instances, dream.coalesce) == (3600, 1, True)
    assert set(jobs.next_runs()) == {"dream", "heartbeat", "trust_decay", "housekeeping"}
    jobs.shutdown()


def test_a_run_missed_while_down_fires_within_grace_and_once(tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    first = scheduler(tmp_path, recorder)
    first.start(paused=True)
    first.shutdown()  # SAGE goes down before 03:00 ...
    clock.at = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)  # ... and is back three nights later
    again = scheduler(tmp_path, recorder)
    again.start()
    assert recorder.wait_for(1) == [EVENT_JOB_EXECUTED]  # three missed nights coalesce
    assert recorder.runs == 1
    assert again._scheduler.get_job("dream").next_run_time == datetime(2026, 11, 24, 3, 0,
                                                                         tzinfo=UTC)  # fmt: skip
    again.shutdown()


def test_a_run_missed_beyond_grace_is_skipped(tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    first = scheduler(tmp_path, recorder)
    first.start(paused=True)
    first.shutdown()
    clock.at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)  # six hours late: grace is one hour
    again = scheduler(tmp_path, recorder)
    again.start()
    assert recorder.wait_for(1) == [EVENT_JOB_MISSED]
    assert recorder.runs == 0
    again.shutdown()


def test_only_one_dream_runs_at_a_time(tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    release = threading.Event()
    recorder = Recorder(block=release)
    jobs = scheduler(tmp_path, recorder)
    jobs.start(paused=True)
    clock.at = datetime(2026, 11, 21, 3, 0, 1, tzinfo=UTC)
    jobs._scheduler.resume()
    while recorder.runs == 0:  # the first run is under way and blocked
        threading.Event().wait(0.01)
    jobs.retry_later("dream", clock.at)  # a second trigger of the same handler ...
    clock.at = datetime(2026, 11, 21, 3, 20, tzinfo=UTC)
    fire(jobs)
    assert recorder.wait_for(1) == [EVENT_JOB_EXECUTED]  # ... returned at once, skipped
    release.set()
    events = recorder.wait_for(2)
    assert recorder.runs == 1 and events == [EVENT_JOB_EXECUTED, EVENT_JOB_EXECUTED]
    jobs.shutdown()


def test_a_corrupt_job_store_is_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "jobs.db").write_bytes(b"this is not a database" * 200)
    jobs = scheduler(tmp_path, Recorder())
    jobs.start(paused=True)
    assert set(jobs.next_runs()) == {"dream", "heartbeat", "trust_decay", "housekeeping"}
    assert len(list(tmp_path.glob("jobs.db.corrupt-*"))) == 1
    assert len([r for r in caplog.records if "unreadable" in r.getMessage()]) == 1
    jobs.shutdown()
