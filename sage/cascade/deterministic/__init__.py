"""Tier 0.5: arithmetic, unit conversions, dates and spelling, answered exactly (and a
coin, a die or a random number, drawn for real).

Small parsers over the normalised transcript (number words are digits by then), one
module per kind: ``arithmetic`` (a recursive-descent parser), ``units``, ``dates`` (the
calendar), ``clock`` (time until, time elsewhere), ``words`` (spelling and chance).
Nothing is ever passed to ``eval``; anything they do not cover returns None and goes on
to the language models.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import datetime

from sage.cascade.deterministic.answer import Answer, spoken_number
from sage.cascade.deterministic.arithmetic import (
    arithmetic,
    average,
    parity,
    primality,
    remainder,
    rounding,
    split,
)
from sage.cascade.deterministic.clock import clock
from sage.cascade.deterministic.dates import dates
from sage.cascade.deterministic.units import convert, scaled
from sage.cascade.deterministic.words import chance, spelling
from sage.patterns.matcher import normalise

__all__ = ["Answer", "answer", "follow_up", "that_year"]

_PREFIX = re.compile(
    r"^(?:hey sage |sage )?(?:please )?(?:(?:what is|what's|whats|how much is|calculate|compute"
    r"|tell me|can you tell me|do you know) )?(?:what )?"
)
_SUFFIX = re.compile(r"(?: please| sage| equal| equals)*$")


def answer(transcript: str, now: datetime, rng: random.Random | None = None) -> Answer | None:
    """The exact answer to an arithmetic, unit, date or spelling question, or None (and a
    coin, a die or a random number, drawn from ``rng``)."""
    text = _core(transcript)
    if not text:
        return None
    found = (
        arithmetic(text.split())
        or primality(text)
        or remainder(text)
        or rounding(text)
        or parity(text)
        or average(text)
        or split(text)
        or convert(text)
        or scaled(text)
        or clock(text, now)
        or dates(text, now)
        or spelling(text)
        or chance(text, rng)
    )
    if found is None:
        return None
    return replace(found, reply=found.reply[:1].upper() + found.reply[1:])  # "The square root …"


# "end": whisper hears a clipped "And times three?" as "End times three."
_CUE = re.compile(r"^(?:and |end |so |then |now )?(?:what about |how about |what if |and )?")
_OPERATORS = ("plus ", "minus ", "times ", "multiplied by ", "divided by ", "over ",
              "to the power of ", "squared", "cubed")  # fmt: skip
_AGAIN = frozenset({"again", "one more time", "another one", "once more"})
_IT = r"(?:that|it|this|the answer|the result)"
_ON_THE_RESULT = (
    (re.compile(rf"^(?:divide|divided) {_IT} by (?P<n>.+)$"), "divided by {n}"),
    (re.compile(rf"^multiply {_IT} by (?:itself|{_IT})$|^square {_IT}$"), "squared"),
    (re.compile(rf"^(?:multiply|multiplied) {_IT} by (?P<n>.+)$"), "times {n}"),
    (re.compile(rf"^{_IT} (?P<op>times|plus|minus|divided by) (?P<n>.+)$"), "{op} {n}"),
    (re.compile(rf"^add (?P<n>.+?)(?: to {_IT})?$"), "plus {n}"),
    (re.compile(rf"^(?:subtract|take away|take) (?P<n>.+?)(?: from {_IT}| away)?$"), "minus {n}"),
    (re.compile(rf"^double {_IT}$"), "times 2"),
    (re.compile(rf"^(?:halve {_IT}|half (?:of )?{_IT})$"), "divided by 2"),
)
"""Operations on the result just said, as they are asked: "divide that by 3" (the base
answered it, 2 s later), "multiply it by itself", "add 5"."""


def _as_operator(rest: str) -> str:
    """ "divide that by 3" → "divided by 3"; anything else as it was."""
    for pattern, operator in _ON_THE_RESULT:
        if hit := pattern.match(rest):
            return operator.format(**hit.groupdict())
    return rest


def follow_up(transcript: str, previous: str, now: datetime) -> tuple[str, Answer] | None:
    """A short follow-up to the previous exact question, as the question it completes and
    its answer: "and times 3" after "what's 12 times 12" (144 times 3), "what about sunday"
    after "how many days until friday", "and 20" after "convert 10 miles to kilometers",
    "again" after "roll a die". None when it does not fit: then it is a question of its own.
    """
    said = normalise(transcript)
    rest = _as_operator(_core(_CUE.sub("", said, count=1)))
    if not rest or (rest == _core(said) and not rest.startswith(_OPERATORS) and rest not in _AGAIN):
        return None  # no "and", "what about": not said as a follow-up
    asked = _core(previous)
    before = answer(asked, now)
    if before is None or before.unfinished is not None:
        return None
    if rest in _AGAIN:
        return (asked, answer(asked, now) or before) if before.kind == "chance" else None
    if rest.startswith(_OPERATORS):  # on from the result just said
        if before.value is None:
            return None
        question = f"{spoken_number(before.value)} {rest}"
        found = answer(question, now)
        return (question, found) if found is not None and found.kind == "arithmetic" else None
    if (whole := answer(rest, now)) is not None:  # "what about 5 times 4": a question
        return rest, whole
    # The same question with one part said anew, tried from its end ("friday" → "sunday").
    words, new = asked.split(), rest.split()
    for end in range(len(words), 0, -1):
        for size in range(1, min(3, end) + 1):
            question = " ".join([*words[: end - size], *new, *words[end:]])
            found = answer(question, now)
            if (found is not None and found.kind == before.kind and found.unfinished is None
                    and question != asked):  # fmt: skip
                return question, found
    return None


_YEAR = re.compile(r"\b(?:1\d{3}|20\d{2})\b")
_THAT = re.compile(r"\bthat\b")


def that_year(transcript: str, reply: str, now: datetime) -> tuple[str, Answer] | None:
    """ "How many years ago was that?" after a reply that names one year ("The Titanic
    sank on April 15, 1912."; the base then said "That was 100 years ago."), as the
    question about that year and its answer; None otherwise."""
    said = normalise(transcript)
    years = set(_YEAR.findall(reply))
    if len(years) != 1 or not _THAT.search(said):
        return None
    question = _THAT.sub(years.pop(), said, count=1)
    found = answer(question, now)
    return (question, found) if found is not None and found.kind == "date" else None


def _core(transcript: str) -> str:
    """The normalised question without "what is", "please" and the like."""
    text = normalise(transcript)
    return _SUFFIX.sub("", _PREFIX.sub("", text, count=1), count=1).strip()
