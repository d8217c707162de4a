"""Pure decisions about turns: context class, outcome of the previous turn, trust, SNARC.

Context class of a request (checked in this order):

* **novel**: nothing said before resembles it (word overlap < ``SIMILAR``);
* **unstable**: the previous turn, within ``SESSION_S``, went wrong (corrected, repeated);
* **moving**: a follow-up within ``SESSION_S`` of the previous turn (a conversation under way);
* **stable**: a known kind of request with no recent trouble.

Outcome of the previous turn, observed from the next one within ``SESSION_S``: a
correction ("no", "that's wrong") or a repeat (near-identical words) is a failure; thanks
or moving on to something else is a success; no next turn observes nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sage.patterns.matcher import normalise

SESSION_S = 120.0
"""A turn within this many seconds of the previous one continues the conversation."""
SIMILAR = 0.5
"""Word-overlap (Jaccard) at which two requests count as the same kind."""
REPEAT = 0.8
"""Word-overlap at which a request repeats the previous one."""
TRUST_STEP = 0.05
"""Trust moves by this much per observed success or failure (as in the seed system)."""
TRUST_HALF_LIFE_S = 7 * 86400.0
"""Trust decays halfway back to its prior in a week without observations."""

_CORRECTION = re.compile(
    r"^(?:no|nope|wrong|that's wrong|that is wrong|that's not right|that is not right|"
    r"incorrect|that's incorrect|not what i asked|you're wrong|that's not it)\b"
)
BARE_CORRECTION = re.compile(
    r"^(?:no |nope )?(?:(?:that's|that is|you're|you are|it's|it is) )?"
    r"(?:wrong|not right|incorrect|not correct|not true)$"
)
"""A correction that says only that the last answer was wrong ("no, that's wrong"); not
a bare "no", which may answer a question."""
_THANKS = re.compile(r"\b(?:thanks|thank you|great|perfect|correct|exactly|that's right)\b")
_AROUSAL = re.compile(r"\b(?:help|emergency|urgent|urgently|now|hurry|quick|quickly|fire|hurt)\b")


def words(text: str) -> frozenset[str]:
    """The set of normalised words of a transcript."""
    return frozenset(normalise(text).split())


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets (0 when both are empty)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class Previous:
    """The turn before this one, as the store remembers it."""

    transcript: str
    at: float
    """Unix seconds."""
    outcome: str
    """"ok", "corrected", "repeated", "thanked", "moved_on" or "unknown"."""


def observe_outcome(previous: Previous | None, transcript: str, now: float) -> str | None:
    """What this transcript tells about the previous turn's answer, or None."""
    if previous is None or now - previous.at > SESSION_S:
        return None
    text = normalise(transcript)
    if _CORRECTION.match(text):
        return "corrected"
    if overlap(words(transcript), words(previous.transcript)) >= REPEAT:
        return "repeated"
    if _THANKS.search(text):
        return "thanked"
    return "moved_on"


FAILURES = frozenset({"corrected", "repeated", "failed"})
SUCCESSES = frozenset({"thanked", "moved_on", "ok"})


def context_class(
    transcript: str, previous: Previous | None, history: Iterable[str], now: float
) -> str:
    """stable / moving / unstable / novel (module docstring has the rule)."""
    mine = words(transcript)
    if not any(overlap(mine, words(past)) >= SIMILAR for past in history):
        return "novel"
    recent = previous is not None and now - previous.at <= SESSION_S
    if recent and previous is not None and previous.outcome in FAILURES:
        return "unstable"
    if recent:
        return "moving"
    return "stable"


def decayed(score: float, prior: float, elapsed_s: float) -> float:
    """Trust relaxed toward its prior over ``elapsed_s`` seconds (exponential, half-life)."""
    weight = math.exp(-math.log(2) * max(0.0, elapsed_s) / TRUST_HALF_LIFE_S)
    return prior + (score - prior) * weight


def updated(score: float, outcome: str) -> float:
    """Trust after one observed outcome, clamped to [0, 1]."""
    if outcome in FAILURES:
        score -= TRUST_STEP
    elif outcome in SUCCESSES:
        score += TRUST_STEP
    return min(1.0, max(0.0, score))


@dataclass(frozen=True)
class Snarc:
    """Salience of one experience; each score in [0, 1]."""

    surprise: float
    novelty: float
    arousal: float
    reward: float
    conflict: float

    WEIGHTS = (0.3, 0.2, 0.1, 0.2, 0.2)
    """surprise, novelty, arousal, reward-extremity, conflict."""

    @property
    def salience(self) -> float:
        """Weighted sum DREAM replays by; reward counts by how far it is from neutral."""
        parts = (
            self.surprise,
            self.novelty,
            self.arousal,
            abs(self.reward - 0.5) * 2,
            self.conflict,
        )
        return sum(w * p for w, p in zip(self.WEIGHTS, parts, strict=True))


def reward_for(outcome: str) -> float:
    """SNARC reward of an observed outcome (0.5 when nothing was observed)."""
    return {"thanked": 1.0, "moved_on": 0.7, "corrected": 0.0, "repeated": 0.2}.get(outcome, 0.5)


def snarc(
    transcript: str,
    history: Iterable[str],
    uncertainty: float,
    asr_disagreed: bool,
    outcome: str = "unknown",
) -> Snarc:
    """Score a turn. ``uncertainty`` in [0, 1] comes from the answering tier (0 when exact)."""
    mine = words(transcript)
    similarity = max((overlap(mine, words(past)) for past in history), default=0.0)
    text = normalise(transcript)
    arousal = min(1.0, 0.5 * len(_AROUSAL.findall(text)) + (0.3 if "!" in transcript else 0.0))
    reward = reward_for(outcome)
    conflict = 1.0 if outcome in FAILURES else 0.5 if asr_disagreed else 0.0
    return Snarc(
        surprise=min(1.0, max(0.0, uncertainty)),
        novelty=1.0 - similarity,
        arousal=arousal,
        reward=reward,
        conflict=conflict,
    )
