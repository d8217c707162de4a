"""Match a transcript against the rules and build the spoken reply."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sage.patterns import machine
from sage.patterns.emergency import emergency_number
from sage.patterns.numbers import normalise_numbers
from sage.patterns.rules import Rule

_NOT_WORD = re.compile(r"[^a-z0-9' ]+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")
_SYMBOLS = {"%": "percent", "+": "plus", "*": "times", "\u00d7": "times",
            "\u00f7": "divided by", "=": "equals"}  # fmt: skip
_SYMBOL = re.compile("|".join(re.escape(symbol) for symbol in _SYMBOLS))
_MONEY = re.compile(r"([$\u20ac])(\d+(?:\.\d+)?)")
"""Whisper writes "forty five dollars" as "$45"."""
_MONEY_WORDS = {"$": "dollars", "\u20ac": "euros"}
_BETWEEN_NUMBERS = re.compile(r"(?<=\d)\s*([-/])\s*(?=\d)")
"""A minus or a slash is arithmetic only between numbers ("wi-fi" stays a word)."""
# Politeness and the assistant's name around a command do not change its meaning.
_COMPOUNDS = {"goodnight": "good night"}
"""Words whisper writes as one that the rules (and the tier-1 grammar) say as two."""
_PREFIX = re.compile(r"^(?:(?:hey |ok |okay )?sage (?=\S))?(?:please )?")  # "hey sage": hey
_SUFFIX = re.compile(r"(?:\b(?:please|sage) )*$")  # whole words: not the end of "usage"


@dataclass(frozen=True)
class Match:
    """A rule hit: which rule, the slot values it captured, and the reply to speak."""

    rule: str
    reply: str
    slots: dict[str, str] = field(default_factory=dict)


_SAID_BACK = {"my": "your", "me": "you", "mine": "yours", "our": "your", "your": "my",
              "you": "me", "yours": "mine", "i": "you", "i'm": "you're"}  # fmt: skip


ASKING = r"^(?:hey sage |sage )?(?:(?:can|could|would|will) you )?(?:please )?"
"""The start of a request as the timers, lists and notes read it: "can you please …"."""


def said_back(text: str) -> str:
    """The words of a request as SAGE says them back: "delete my files" → "delete your
    files"."""
    return " ".join(_SAID_BACK.get(word.lower(), word) for word in text.split())


def spoken_list(items: list[str], conjunction: str = "and") -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def with_article(name: str) -> str:
    """ "a 5 minute timer", "an 8 minute timer", "an 11 minute timer", "an eggs timer"."""
    first = name.split()[0]
    vowel = first[0] in "aeiou8" or first in ("11", "18")
    return f"{'an' if vowel else 'a'} {name}"


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, number words to digits, single spaces."""
    text = text.lower().replace("\u2019", "'")
    text = _THOUSANDS.sub("", text)  # "1,000" → "1000"
    text = _MONEY.sub(lambda m: f"{m[2]} {_MONEY_WORDS[m[1]]}", text)  # "$45" → "45 dollars"
    text = _DECIMAL.sub(" point ", text)  # "3.5" → "3 point 5", as it is spoken
    # Arithmetic written with symbols, as typed to `sage ask`: "what is 5 + 3"
    text = _BETWEEN_NUMBERS.sub(lambda m: " minus " if m[1] == "-" else " divided by ", text)
    text = _SYMBOL.sub(lambda m: f" {_SYMBOLS[m[0]]} ", text)
    words = _NOT_WORD.sub(" ", text).split()
    words = [w.strip("'") for w in words if w.strip("'")]
    words = [part for w in words for part in _COMPOUNDS.get(w, w).split()]
    return " ".join(normalise_numbers(words))


Responder = Callable[[Rule, dict[str, str], datetime], str]


def _time(rule: Rule, slots: dict[str, str], now: datetime) -> str:
    # "1 AM", not "1:00 AM", which a voice reads as "one zero zero".
    spoken = now.strftime("%I %p" if now.minute == 0 else "%I:%M %p").lstrip("0")
    return f"It's {spoken}."


def _date(rule: Rule, slots: dict[str, str], now: datetime) -> str:
    return f"Today is {now.strftime('%A, %B')} {now.day}, {now.year}."


def _stop(rule: Rule, slots: dict[str, str], now: datetime) -> str:
    return "Okay."


def _emergency(rule: Rule, slots: dict[str, str], now: datetime) -> str:
    return rule.replies[0].format(emergency=emergency_number())


def _machine_fact(name: str) -> Responder:
    """A fact this machine reads about itself when asked (uptime, free disk, ...)."""
    return lambda rule, slots, now: machine.read(name)


class PatternMatcher:
    """Tier 0: rules tried in order; the first whole-transcript match wins."""

    def __init__(self, rules: list[Rule], skills: Sequence[str] = ()) -> None:
        self.rules = rules
        self.skills = tuple(skills)
        """What the other tiers can do, for "what can you do" ("control the services on
        my list")."""
        self._responders: dict[str, Responder] = {
            "time": _time,
            "date": _date,
            "stop": _stop,
            "emergency": _emergency,
            "capabilities": self._capabilities,
            **{name: _machine_fact(name) for name in machine.FACTS},
        }
        for rule in rules:
            if rule.responder and rule.responder not in self._responders:
                from sage.errors import ConfigError

                raise ConfigError(f"rule {rule.name}: unknown responder {rule.responder!r}")

    def match(self, text: str, now: datetime) -> Match | None:
        """The reply for a transcript, or None when no rule covers it."""
        core = _PREFIX.sub("", normalise(text) + " ", count=1)
        core = _SUFFIX.sub("", core, count=1) or core  # "sage" alone is said as a call
        if not core.strip():
            return None
        for rule in self.rules:
            for pattern in rule.patterns:
                hit = pattern.fullmatch(core)
                if hit is None:
                    continue
                slots = {
                    name: rule.synonyms(name)[value]
                    for name, value in hit.groupdict().items()
                    if value is not None
                }
                return Match(rule.name, self._reply(rule, slots, now), slots)
        return None

    def _reply(self, rule: Rule, slots: dict[str, str], now: datetime) -> str:
        if rule.responder:
            return self._responders[rule.responder](rule, slots, now)
        return rule.replies[0].format(**slots)

    def _capabilities(self, rule: Rule, slots: dict[str, str], now: datetime) -> str:
        """In short sentences, so that the first is said soon (one long one took Piper 1 s)."""
        described = [r.description for r in self.rules if r.description and r is not rule]
        things = [*described[:4], *self.skills]
        also = f" I can also {spoken_list(things[3:])}." if things[3:] else ""
        return (f"I can {spoken_list(things[:3])}.{also} Anything else, I answer with my "
                "on-device language model.")  # fmt: skip
