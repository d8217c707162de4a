"""What tier 0.5 answers, and how it says a number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

NUMBER = r"\d+(?: point \d+)?"
"""A number in the normalised transcript ("98.6" is "98 point 6" by then, as it is said)."""
MAX_MAGNITUDE = 1e15
"""Results beyond this are refused: nobody asks a voice assistant for them on purpose."""


@dataclass(frozen=True)
class Answer:
    """An exact answer and what kind of question it was."""

    reply: str
    kind: str
    """"arithmetic", "units", "date", "spelling" or "chance"."""
    value: float | None = None
    """The number an arithmetic answer gave, for a follow-up ("and times 3")."""
    unfinished: str | None = None
    """The expression so far when the question stopped after an operator ("3 plus"): the
    reply asks for the rest, and the next utterance may complete it."""


def spoken_date(day: date, today: date) -> str:
    """ "Sunday, March 14", with the year when it is not this one."""
    year = f", {day.year}" if day.year != today.year else ""
    return f"{day:%A, %B} {day.day}{year}"


def spoken_number(value: float) -> str:
    """A result as it is said: whole numbers whole, others to four figures."""
    if value == int(value) and abs(value) < MAX_MAGNITUDE:
        return str(int(value))
    text = f"{value:.4g}" if abs(value) >= 1e-4 else f"{value:.2e}"
    return text if "e" not in text else f"{value:.3e}"
