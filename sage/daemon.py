"""The daemon loop: a stream of audio blocks in, one turn per utterance, replies out;
between turns, about once a second of audio, it says the timers, alarms and reminders
that are due.

With a metabolism, the loop also fires the state timers (about once a second of audio),
unloads the language models after REST's timeout, and runs the scheduled jobs: DREAM
(only when idle; it yields to the next utterance and resumes later), the heartbeat
(budget refill, timers, status.json), trust decay and snapshot housekeeping.

Recognition starts at the first pause in speech (segmenter.early_asr_ms), on the
recognizer's thread, while the segmenter waits out the hang-over; when the utterance then
closes with no more speech, its transcript is ready or nearly so.

Shutdown order on SIGINT/SIGTERM: stop input, finish the turn under way (drain), close
the output, stop the jobs, snapshot the conversation and free the models, close the store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path

from sage.audio import SAMPLE_RATE, SAMPLE_WIDTH
from sage.audio.segmenter import Pause, Segmenter, Utterance
from sage.audio.wakeword import WakeWordGate
from sage.dream.distill import Distill
from sage.dream.dreamer import Dreamer
from sage.metabolism.ledger import Meter
from sage.metabolism.scheduler import Scheduler
from sage.metabolism.states import Event, State
from sage.pipeline import Pipeline, Turn
from sage.services.notify import Notifier
from sage.speech.asr import Transcript

_LOGGER = logging.getLogger(__name__)
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH
TICK_S = 1.0
"""Seconds of audio between state-timer checks."""


class Daemon:
    """Feeds audio blocks through the segmenter and answers each utterance."""

    def __init__(
        self,
        pipeline: Pipeline,
        wake: WakeWordGate | None = None,
        after_turn: Callable[[], object] | None = None,
        on_turn: Callable[[Turn], None] | None = None,
        jobs_db: Path | None = None,
        notifier: Notifier | None = None,
        watchdog_s: float = 0.0,
    ) -> None:
        self.pipeline = pipeline
        self._notifier = notifier
        self._watchdog_s = watchdog_s
        """Seconds between heartbeats through the pipeline (0: no watchdog)."""
        self._next_ping = 0.0
        self.segmenter = Segmenter(pipeline.config.segmenter, on_pause=self._recognize_early)
        self._early: tuple[float, Future[Transcript]] | None = None
        """(speech_ended_at, recognition) started at the last pause."""
        self._wake = wake
        self._after_turn = after_turn
        """Called after each turn; the microphone uses it to drop SAGE's own voice."""
        self._on_turn = on_turn
        self._stop = threading.Event()
        self.turns: list[Turn] = []
        self.metabolism = pipeline.metabolism
        self.scheduler: Scheduler | None = None
        if jobs_db is not None and self.metabolism is not None:
            self.scheduler = Scheduler(jobs_db, pipeline.config.metabolism, {
                "dream": self.dream, "heartbeat": self.heartbeat,
                "trust_decay": self._decay_trust, "housekeeping": self._housekeep,
            })  # fmt: skip
        self._meter = Meter()

    def stop(self) -> None:
        """Ask the loop to end after the turn under way."""
        self._stop.set()

    def run(self, blocks: Iterator[bytes]) -> list[Turn]:
        """Process blocks until the stream ends or :meth:`stop`; returns the turns."""
        if self.scheduler is not None:
            self.scheduler.start()
        try:
            self._listen(blocks)
        finally:
            self._stop.set()  # a DREAM under way yields
            if self.scheduler is not None:
                self.scheduler.shutdown()
        return self.turns

    def _listen(self, blocks: Iterator[bytes]) -> None:
        stream_s = 0.0
        next_tick = 0.0
        for block in blocks:
            if self._stop.is_set():
                break
            stream_s += len(block) / BYTES_PER_SECOND
            if stream_s >= next_tick:
                next_tick = stream_s + TICK_S
                self._tick()
                self._announce_timers()
            if self._watchdog_s and not self.segmenter.endpointer.in_speech:
                self._feed_watchdog()
            if self._wake is not None and not self._wake.is_open(stream_s):
                if self._wake.feed(block, stream_s):
                    _LOGGER.info("wake word heard")
                continue
            for utterance in self.segmenter.push(block):
                self._turn(utterance)
            if self._wake is not None and self.segmenter.endpointer.in_speech:
                self._wake.extend(stream_s)
        for utterance in self.segmenter.flush():
            self._turn(utterance)

    def _announce_timers(self) -> None:
        """Say the timers that ran out, on this thread, between turns (never over one)."""
        try:
            said = self.pipeline.announce_timers()
        except Exception:  # a failed announcement must not stop the daemon
            _LOGGER.exception("could not announce a timer")
            return
        if said and self._after_turn is not None:
            self._after_turn()  # the microphone drops SAGE's own voice

    def _recognize_early(self, pause: Pause) -> None:
        """Recognise the speech so far; the hang-over decides whether it was all of it."""
        if self._early is not None:
            self._early[1].cancel()  # speech went on: a recognition still queued is stale
        self._early = (pause.speech_ended_at, self.pipeline.recognizer.begin(pause.pcm))

    def _turn(self, utterance: Utterance) -> None:
        vad_ms = self.segmenter.vad_seconds * 1000
        self.segmenter.vad_seconds = 0.0
        early, self._early = self._early, None
        if early is not None and early[0] != utterance.speech_ended_at:
            early[1].cancel()
            early = None
        try:
            turn = self.pipeline.hear(utterance, vad_ms, early[1] if early else None)
        except Exception:  # one bad utterance must never stop the daemon
            _LOGGER.exception("turn failed; listening on")
            return
        self.turns.append(turn)
        if self._on_turn is not None:
            self._on_turn(turn)
        if self._wake is not None:
            self._wake.close()
        if self._after_turn is not None:
            self._after_turn()

    def _feed_watchdog(self) -> None:
        """WATCHDOG=1 only after a ping has gone through the stages on the loop's thread:
        this block came in and went through the segmenter, and the recognizer, matcher and
        voice answered. A stuck stage (or input) stops the pings, and systemd restarts SAGE."""
        now = time.monotonic()
        if now < self._next_ping:
            return
        self.pipeline.ping()
        self._next_ping = now + self._watchdog_s
        if self._notifier is not None:
            self._notifier.send("WATCHDOG=1", f"STATUS={self.status_line()}")

    def status_line(self) -> str:
        """One line for systemctl status: state, budget, turns."""
        metabolism = self.metabolism
        if metabolism is None:
            return f"listening; {len(self.turns)} turns"
        allowance = metabolism.allowance(time.time())
        listening = "" if metabolism.listening else " (not listening)"
        return (f"{metabolism.state.value}{listening}; budget {allowance.budget_left_s:.0f} "
                f"CPU-s; {len(self.turns)} turns")  # fmt: skip

    # -- scheduled work ---------------------------------------------------------------

    def _tick(self) -> None:
        """Fire due state timers; unload the language models when REST has lasted."""
        metabolism = self.metabolism
        if metabolism is None:
            return
        now = time.time()
        metabolism.tick(now)
        if metabolism.should_unload(now) and self.pipeline.llm_loaded:
            self.pipeline.unload_llm()

    def heartbeat(self) -> None:
        """The scheduled heartbeat: timers, budget refill, and a fresh status.json."""
        self._tick()
        if self.metabolism is not None:
            if self.scheduler is not None:
                self.metabolism.jobs = self.scheduler.next_runs()
            self.metabolism.write_status(time.time())

    def dream(self) -> None:
        """The nightly job: DREAM when idle, yielding to speech; else try again later."""
        metabolism, store = self.metabolism, self.pipeline.store
        if metabolism is None or store is None:
            return
        if metabolism.state not in (State.WAKE, State.REST):
            _LOGGER.info("DREAM due but SAGE is %s; trying again later", metabolism.state)
            self._retry_dream()
            return
        metabolism.handle(Event.SCHEDULE_FIRED, time.time())

        def should_yield() -> bool:
            return metabolism.state is not State.DREAM or self._stop.is_set()

        work = Distill(self.pipeline.config, self.pipeline.models, store, should_yield)
        try:
            result = Dreamer(store, work, self.pipeline.config.dream.max_lessons).run(
                should_yield, time.time(), self._meter,
                spend=lambda cost: metabolism.spend(cost, time.time()),
            )  # fmt: skip
        finally:
            work.close()
        if result == "done":
            metabolism.handle(Event.RESOLVED, time.time())
        elif metabolism.state is State.FOCUS:  # someone spoke: resume when idle again
            self._retry_dream()

    def _retry_dream(self) -> None:
        if self.scheduler is not None:
            self.scheduler.retry_later("dream", datetime.now().astimezone())

    def _decay_trust(self) -> None:
        if self.pipeline.store is not None:
            self.pipeline.store.decay_trust(time.time())

    def _housekeep(self) -> None:
        if self.pipeline.snapshots is not None:
            self.pipeline.snapshots.housekeep()
