"""The metabolic states and the one pure function that moves between them.

Transition table (any pair not listed keeps the state):

=========  ==================  ==========================================================
from       event               to
=========  ==================  ==========================================================
any        urgent              CRISIS   ("help", "emergency")
any¹       repeated_failure    CRISIS   (the user was not satisfied several times running)
WAKE       utterance           FOCUS    (a conversation opens)
REST       utterance           FOCUS    (models reload, restored from snapshots)
DREAM      utterance           FOCUS    (DREAM yields; it resumes later)
FOCUS      utterance/follow_up FOCUS    (the focus window restarts)
FOCUS      idle_timeout        REST     (the window closed: the session is snapshotted)
WAKE       idle_timeout        REST
WAKE/REST  schedule_fired      DREAM    (only these two are idle; FOCUS/CRISIS defer it)
DREAM      resolved            REST     (the night's work is done)
DREAM      idle_timeout        REST     (its time bound ran out)
DREAM      budget_exhausted    REST
CRISIS     resolved            WAKE
CRISIS     idle_timeout        WAKE     (its time bound ran out)
=========  ==================  ==========================================================

¹ a repeated failure while in CRISIS keeps CRISIS (its clock is not restarted).
Budget exhaustion outside DREAM changes no state: the cascade serves from cheaper tiers.
Which timer event is due is :func:`due_event`, also pure.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sage.config import build_section
from sage.errors import ConfigError

STATES_DIR = Path(__file__).resolve().parents[2] / "states"
"""The shipped per-state settings (``states/<state>.toml``)."""


class State(StrEnum):
    WAKE = "wake"
    FOCUS = "focus"
    DREAM = "dream"
    REST = "rest"
    CRISIS = "crisis"


class Event(StrEnum):
    UTTERANCE = "utterance"
    FOLLOW_UP = "follow_up"
    """An utterance within the focus window."""
    IDLE_TIMEOUT = "idle_timeout"
    """The state's idle timeout or time bound ran out (see :func:`due_event`)."""
    SCHEDULE_FIRED = "schedule_fired"
    URGENT = "urgent"
    REPEATED_FAILURE = "repeated_failure"
    BUDGET_EXHAUSTED = "budget_exhausted"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class StateSettings:
    """One ``states/<state>.toml`` file."""

    allowance_s: float = 120.0
    """ATP capacity: CPU-seconds of work that may be banked."""
    refill_per_min: float = 6.0
    """CPU-seconds added back per minute, up to the allowance."""
    tiers: tuple[str, ...] = ("draft", "base", "modifier")
    """Language-model tiers allowed in this state (pattern and arithmetic always are)."""
    idle_timeout_s: float = 0.0
    """Quiet time after the last utterance that fires idle_timeout; 0 never."""
    max_duration_s: float = 0.0
    """Time bound of the state from its start (CRISIS, DREAM); 0 none."""
    unload_after_s: float = 0.0
    """REST: unload the big models after this long in the state; 0 never."""
    keep_models_loaded: bool = True
    ignores_budget: bool = False
    """CRISIS: the most capable tier answers and the balance may go negative."""

    def __post_init__(self) -> None:
        for key in ("allowance_s", "refill_per_min", "idle_timeout_s", "max_duration_s",
                    "unload_after_s"):  # fmt: skip
            if getattr(self, key) < 0:
                raise ConfigError(f"{key} must be ≥ 0")
        object.__setattr__(self, "tiers", tuple(self.tiers))
        unknown = set(self.tiers) - {"draft", "base", "modifier"}
        if unknown:
            raise ConfigError(f"tiers: unknown tier {sorted(unknown)[0]!r}")

    @property
    def refill_per_s(self) -> float:
        return self.refill_per_min / 60.0


def load_settings(directory: Path = STATES_DIR) -> dict[State, StateSettings]:
    """Every state's settings; a missing file is a ConfigError naming it."""
    settings = {}
    for state in State:
        path = directory / f"{state.value}.toml"
        try:
            with path.open("rb") as f:
                table = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"state settings {path} do not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        settings[state] = build_section(StateSettings, table, f"{path.name}: ")
    return settings


_TABLE: dict[tuple[State, Event], State] = {
    (State.WAKE, Event.UTTERANCE): State.FOCUS,
    (State.REST, Event.UTTERANCE): State.FOCUS,
    (State.DREAM, Event.UTTERANCE): State.FOCUS,
    (State.FOCUS, Event.IDLE_TIMEOUT): State.REST,
    (State.WAKE, Event.IDLE_TIMEOUT): State.REST,
    (State.WAKE, Event.SCHEDULE_FIRED): State.DREAM,
    (State.REST, Event.SCHEDULE_FIRED): State.DREAM,
    (State.DREAM, Event.RESOLVED): State.REST,
    (State.DREAM, Event.IDLE_TIMEOUT): State.REST,
    (State.DREAM, Event.BUDGET_EXHAUSTED): State.REST,
    (State.CRISIS, Event.RESOLVED): State.WAKE,
    (State.CRISIS, Event.IDLE_TIMEOUT): State.WAKE,
}


@dataclass(frozen=True)
class Phase:
    """A state and when it was entered (time.time() seconds)."""

    state: State
    entered_at: float


def next_state(phase: Phase, event: Event, now: float) -> Phase:
    """The phase after ``event`` at ``now``; an unchanged state keeps its start time."""
    state = phase.state
    if event is Event.URGENT or (event is Event.REPEATED_FAILURE and state is not State.CRISIS):
        target = State.CRISIS
    else:
        target = _TABLE.get((state, event), state)
    return phase if target is state else Phase(target, now)


def due_event(
    state: State, entered_at: float, last_utterance_at: float, now: float,
    settings: StateSettings,
) -> Event | None:  # fmt: skip
    """The timer event due at ``now``, if any: a time bound from the state's start, or the
    idle timeout from the last utterance (or the state's start, if later)."""
    if settings.max_duration_s and now - entered_at >= settings.max_duration_s:
        return Event.IDLE_TIMEOUT
    quiet_since = max(entered_at, last_utterance_at)
    if settings.idle_timeout_s and now - quiet_since >= settings.idle_timeout_s:
        return Event.IDLE_TIMEOUT
    return None


def utterance_event(state: State, last_utterance_at: float, now: float,
                    focus: StateSettings) -> Event:  # fmt: skip
    """An utterance in FOCUS within the focus window is a follow-up."""
    if state is State.FOCUS and now - last_utterance_at < focus.idle_timeout_s:
        return Event.FOLLOW_UP
    return Event.UTTERANCE
