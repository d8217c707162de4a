"""Kitchen timers, said aloud when they run out: "set a timer for 5 minutes", "how long is
left on the timer?", "cancel the timer".

The daemon keeps them in its state folder (``timers.json``, written atomically), so a
restart keeps them; one that ran out while SAGE was stopped is announced as soon as it
runs again. A one-shot ``sage ask`` cannot keep a timer and says so. Alarms at a time of
day and reminders are not here: the rule ``no_timers`` still says so.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from sage.fsutil import atomic_write_bytes
from sage.patterns.matcher import normalise

_LOGGER = logging.getLogger(__name__)
MAX_TIMER_S = 24 * 3600
_SMALL = r"minutes?|mins?|seconds?|secs?"
_SPAN = (rf"(?P<n>\d+|an|a|half an) (?P<unit>hours?|hrs?|{_SMALL})(?P<half> and a half)?"
         rf"(?: and (?P<n2>\d+) (?P<unit2>{_SMALL}))?")  # fmt: skip
_ASKING = r"^(?:hey sage |sage )?(?:(?:can|could|would|will) you )?(?:please )?"
_SET = [
    re.compile(
        rf"{_ASKING}(?:(?:set|start|make|put on)(?: me)? )?(?:a |an |the )?{timer}(?: please)?$"
    )
    for timer in (f"timer for {_SPAN}", f"{_SPAN} timer")
]
_NO_SPAN = re.compile(rf"{_ASKING}(?:set|start|make)(?: me)? (?:a |an )?timer(?: please)?$")
_LEFT = re.compile(
    r"^how (?:much time|long) (?:is |do i have )?(?:left|remaining)(?: on (?:the|my) timers?)?$"
    r"|^(?:how's|how is|check) (?:the|my) timers?$|^is (?:the|my) timer (?:still )?running$"
)
_CANCEL = re.compile(
    rf"{_ASKING}(?:cancel|stop|delete|clear|turn off)(?: all)? (?:the |my )?timers?$"
)
_SECONDS = {"h": 3600, "m": 60, "s": 1}
"""A unit's seconds, by its first letter ("hrs", "minutes", "sec")."""


@dataclass(frozen=True)
class Timer:
    """One running timer."""

    due_at: float
    """When it runs out (seconds since the epoch)."""
    name: str
    """How it was set, as it is said back: "5 minute", "1 hour 30 minute"."""


class Timers:
    """The running timers of one daemon (``live``), or of a one-shot run, which has none."""

    def __init__(self, path: Path, live: bool) -> None:
        self.path = path
        self.live = live
        self.timers: list[Timer] = self._load() if live else []

    def answer(self, text: str, now: float) -> str | None:
        """The reply if ``text`` sets, checks or cancels a timer, else None."""
        said = normalise(text)
        if hit := next((h for pattern in _SET if (h := pattern.match(said))), None):
            return self._set(_seconds(hit), now)
        if _NO_SPAN.match(said):
            return "For how long? Say, for example, set a timer for 5 minutes."
        if _LEFT.match(said):
            return self._left(now)
        if _CANCEL.match(said):
            if not self.timers:
                return "There's no timer running."
            count, self.timers = len(self.timers), []
            self._save()
            return "I've cancelled the timer." if count == 1 else f"I've cancelled {count} timers."
        return None

    def due(self, now: float) -> list[str]:
        """What to say for each timer that has run out (it is then gone)."""
        done = [timer for timer in self.timers if timer.due_at <= now]
        if not done:
            return []
        self.timers = [timer for timer in self.timers if timer.due_at > now]
        self._save()
        return [f"Your {timer.name} timer is done." for timer in done]

    def _set(self, seconds: float, now: float) -> str:
        if not self.live:
            return "I can only keep a timer while I run as a daemon: start me with sage run."
        if not 1 <= seconds <= MAX_TIMER_S:
            return "I can set a timer for up to 24 hours."
        name = _spoken(seconds)
        self.timers.append(Timer(now + seconds, name))
        self._save()
        return f"Okay, a {name} timer, starting now."

    def _left(self, now: float) -> str:
        if not self.timers:
            return "There's no timer running."
        said = [f"{_spoken(t.due_at - now, words=True)} left on the {t.name} timer"
                for t in sorted(self.timers, key=lambda t: t.due_at)]  # fmt: skip
        return "There's " + ", and ".join(said) + "."

    def _load(self) -> list[Timer]:
        try:
            rows = json.loads(self.path.read_text())
            return [Timer(float(row["due_at"]), str(row["name"])) for row in rows]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:  # lose only the timers
            _LOGGER.error("timers file %s is unreadable (%s); starting with none", self.path, exc)
            return []

    def _save(self) -> None:
        data = json.dumps([asdict(timer) for timer in self.timers]).encode()
        try:
            atomic_write_bytes(self.path, data)
        except OSError as exc:  # the timers still run; only a restart would lose them
            _LOGGER.error("could not keep the timers in %s: %s", self.path, exc)


def _seconds(hit: re.Match[str]) -> float:
    """ "1 hour and a half", "2 minutes and 30 seconds"."""
    count = {"an": 1.0, "a": 1.0, "half an": 0.5}.get(hit["n"]) or float(hit["n"])
    seconds = (count + (0.5 if hit["half"] else 0.0)) * _SECONDS[hit["unit"][0]]
    if hit["n2"]:
        seconds += float(hit["n2"]) * _SECONDS[hit["unit2"][0]]
    return seconds


def _spoken(seconds: float, words: bool = False) -> str:
    """ "5 minute" (a timer's name) or, with ``words``, "4 minutes and 10 seconds"."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    said = [f"{n} {unit}{'s' if words and n != 1 else ''}" for n, unit in parts if n]
    if not said:
        return "no time" if words else "0 second"
    if not words:
        return " ".join(said)
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"
