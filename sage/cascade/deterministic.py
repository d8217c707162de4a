"""Tier 0.5: arithmetic, unit conversions, dates and spelling, answered exactly (and a
coin, a die or a random number, drawn for real).

A small recursive-descent parser over the normalised transcript (number words are digits
by then). Nothing is ever passed to ``eval``; anything the grammar does not cover returns
None and goes on to the language models.
"""

from __future__ import annotations

import calendar
import functools
import math
import random
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sage.patterns.matcher import normalise

_PREFIX = re.compile(
    r"^(?:hey sage |sage )?(?:please )?(?:(?:what is|what's|whats|how much is|calculate|compute"
    r"|tell me|can you tell me|do you know) )?(?:what )?"
)
_SUFFIX = re.compile(r"(?: please| sage| equal| equals)*$")
MAX_MAGNITUDE = 1e15
"""Results beyond this are refused: nobody asks a voice assistant for them on purpose."""


@dataclass(frozen=True)
class Answer:
    """An exact answer and what kind of question it was."""

    reply: str
    kind: str
    """"arithmetic", "units", "date", "spelling" or "chance"."""
    unfinished: str | None = None
    """The expression so far when the question stopped after an operator ("3 plus"): the
    reply asks for the rest, and the next utterance may complete it."""


class _NoParse(Exception):
    pass


class _NoSuchDay(Exception):
    """A date no calendar has ("february 30"); its message is the spoken answer."""


class _Incomplete(Exception):
    """The question stopped right after an operator ("what is 3 plus"): a speaker cut off
    mid-sentence, or a pause the segmenter took for the end."""


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) < MAX_MAGNITUDE:
        return str(int(value))
    text = f"{value:.4g}" if abs(value) >= 1e-4 else f"{value:.2e}"
    return text if "e" not in text else f"{value:.3e}"


# -- arithmetic ----------------------------------------------------------------------------

_ADD = {"plus": 1, "and": 1, "minus": -1}
_MUL = ("times", "x", "multiplied by", "divided by", "over")
_SHARES = {"half of": 0.5, "a half of": 0.5, "a third of": 1 / 3, "a quarter of": 0.25,
           "double": 2.0, "twice": 2.0, "triple": 3.0}  # fmt: skip
_PARTS = {"halves": 2, "thirds": 3, "quarters": 4, "fourths": 4, "fifths": 5, "tenths": 10}
"""Denominators of "3 quarters of 200", "2 thirds of 9"."""
MAX_PRIME_CHECK = 10**12
"""Primality is checked by trial division up to the square root: a million steps at most."""


class _Arithmetic:
    """Recursive descent over words:

    expr   := term (("plus" | "minus") term)*
    term   := factor (("times" | "divided by" | "over") factor)*
    factor := "minus" factor | ("square root of" | "cube root of") factor | share factor
            | atom ["squared" | "cubed" | "to the power of" atom]
    share  := "half of" | "a third of" | "a quarter of" | "double" | "twice" | "triple"
    atom   := number ["point" digits] ["percent of" factor | parts "of" factor]
    parts  := "halves" | "thirds" | "quarters" | "fourths" | "fifths" | "tenths"
    """

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.pos = 0
        self.operators = 0

    def peek(self, phrase: str) -> bool:
        parts = phrase.split()
        return self.words[self.pos : self.pos + len(parts)] == parts

    def take(self, phrase: str) -> bool:
        if self.peek(phrase):
            self.pos += len(phrase.split())
            return True
        return False

    def parse(self) -> float:
        value = self.expr()
        if self.pos != len(self.words) or self.operators == 0:
            raise _NoParse
        return value

    def expr(self) -> float:
        value = self.term()
        while self.pos < len(self.words) and self.words[self.pos] in _ADD:
            sign = _ADD[self.words[self.pos]]
            self.pos += 1
            self.operators += 1
            value += sign * self.term()
        return value

    def term(self) -> float:
        value = self.factor()
        while True:
            op = next((op for op in _MUL if self.peek(op)), None)
            if op is None:
                return value
            self.take(op)
            self.operators += 1
            rhs = self.factor()
            if op in ("divided by", "over"):
                if rhs == 0:
                    raise ZeroDivisionError
                value /= rhs
            else:
                value *= rhs

    def factor(self) -> float:
        if self.take("minus") or self.take("negative"):
            return -self.factor()
        if self.take("the square root of") or self.take("square root of"):
            self.operators += 1
            value = self.factor()
            if value < 0:
                raise ValueError("square root of a negative number")
            return math.sqrt(value)
        if self.take("the cube root of") or self.take("cube root of"):
            self.operators += 1
            return math.cbrt(self.factor())
        share = next((phrase for phrase in _SHARES if self.peek(phrase)), None)
        if share is not None:
            self.take(share)
            self.operators += 1
            return _SHARES[share] * self.factor()
        value = self.atom()
        if self.take("squared"):
            self.operators += 1
            return value**2
        if self.take("cubed"):
            self.operators += 1
            return value**3
        if self.take("to the power of") or self.take("to the"):
            self.operators += 1
            exponent = -self.atom() if self.take("minus") else self.atom()
            if value < 0 and exponent != int(exponent):
                raise ValueError("a fractional power of a negative number")
            return value**exponent  # floats: an overflow raises OverflowError at once
        return value

    def atom(self) -> float:
        if self.pos >= len(self.words):
            raise _Incomplete if self.operators else _NoParse
        value = _number(self.words[self.pos])
        self.pos += 1
        if self.take("point") and self.pos < len(self.words) and self.words[self.pos].isdigit():
            value = float(f"{int(value)}.{self.words[self.pos]}")
            self.pos += 1
        if self.take("percent of"):
            self.operators += 1
            return value / 100 * self.factor()
        parts = next((p for p in _PARTS if self.peek(f"{p} of")), None)
        if parts is not None:  # "3 quarters of 200"
            self.take(f"{parts} of")
            self.operators += 1
            return value / _PARTS[parts] * self.factor()
        return value


def _number(word: str) -> float:
    try:
        return float(word)
    except ValueError:
        raise _NoParse from None


def arithmetic(words: list[str]) -> Answer | None:
    """ "17 times 23" → "17 times 23 is 391."."""
    try:
        value = _Arithmetic(words).parse()
    except _NoParse:
        return None
    except _Incomplete:  # asked back, rather than a language model guessing the rest
        expression = " ".join(words)
        return Answer(f"{expression} what?", "arithmetic", unfinished=expression)
    except ZeroDivisionError:
        return Answer("That's undefined: you can't divide by zero.", "arithmetic")
    except ValueError:
        return Answer("I can't give a real number for that.", "arithmetic")
    except OverflowError:
        value = math.inf
    if abs(value) > MAX_MAGNITUDE:
        return Answer("That number is too large to say usefully.", "arithmetic")
    return Answer(f"{' '.join(words)} is {_fmt(value)}.", "arithmetic")


_PRIME = re.compile(r"^is (?P<n>\d+) (?:a )?prime(?: number)?$")


def primality(text: str) -> Answer | None:
    """ "is 7 a prime number" → "Yes, 7 is a prime number."."""
    hit = _PRIME.match(text)
    if hit is None or int(hit["n"]) > MAX_PRIME_CHECK:
        return None
    n = int(hit["n"])
    if n < 2:
        return Answer(f"No, {n} is not a prime number.", "arithmetic")
    divisor = next((d for d in range(2, math.isqrt(n) + 1) if n % d == 0), None)
    if divisor is None:
        return Answer(f"Yes, {n} is a prime number.", "arithmetic")
    return Answer(f"No, {n} is not a prime number: it is {divisor} times {n // divisor}.",
                  "arithmetic")  # fmt: skip


# -- units ---------------------------------------------------------------------------------

_UNITS: dict[str, tuple[str, float]] = {
    # name: (dimension, size in the dimension's base unit)
    "millimeter": ("length", 0.001), "centimeter": ("length", 0.01), "meter": ("length", 1.0),
    "kilometer": ("length", 1000.0), "inch": ("length", 0.0254), "foot": ("length", 0.3048),
    "yard": ("length", 0.9144), "mile": ("length", 1609.344),
    "gram": ("mass", 0.001), "kilogram": ("mass", 1.0), "ounce": ("mass", 0.028349523125),
    "pound": ("mass", 0.45359237), "stone": ("mass", 6.35029318), "ton": ("mass", 1000.0),
    "milliliter": ("volume", 0.001), "liter": ("volume", 1.0), "teaspoon": ("volume", 0.00492892),
    "tablespoon": ("volume", 0.0147868), "cup": ("volume", 0.2365882365),
    "pint": ("volume", 0.473176473), "gallon": ("volume", 3.785411784),
    "second": ("time", 1.0), "minute": ("time", 60.0), "hour": ("time", 3600.0),
    "day": ("time", 86400.0), "week": ("time", 604800.0),
    "celsius": ("temperature", 1.0), "fahrenheit": ("temperature", 1.0),
    "kelvin": ("temperature", 1.0),
}  # fmt: skip
_ALIASES = {
    "feet": "foot", "inches": "inch", "metre": "meter", "metres": "meter", "litre": "liter",
    "litres": "liter", "kilometre": "kilometer", "kilometres": "kilometer", "km": "kilometer",
    "centimetre": "centimeter", "centimetres": "centimeter", "cm": "centimeter",
    "millimetre": "millimeter", "millimetres": "millimeter", "mm": "millimeter",
    "millilitre": "milliliter", "millilitres": "milliliter", "ml": "milliliter",
    "kg": "kilogram", "kilo": "kilogram", "kilos": "kilogram", "lb": "pound", "lbs": "pound",
    "oz": "ounce", "degrees": "", "degree": "", "tonne": "ton", "tonnes": "ton",
}  # fmt: skip
_TO_KELVIN: dict[str, Callable[[float], float]] = {
    "celsius": lambda v: v + 273.15,
    "fahrenheit": lambda v: (v - 32) * 5 / 9 + 273.15,
    "kelvin": lambda v: v,
}
_FROM_KELVIN: dict[str, Callable[[float], float]] = {
    "celsius": lambda k: k - 273.15,
    "fahrenheit": lambda k: (k - 273.15) * 9 / 5 + 32,
    "kelvin": lambda k: k,
}


def _unit(phrase: str) -> str | None:
    words = [w for w in (_ALIASES.get(w, w) for w in phrase.split()) if w]
    if len(words) != 1:
        return None
    word = words[0]
    if word in _UNITS:
        return word
    if word.endswith("s") and word[:-1] in _UNITS:
        return word[:-1]
    return None


_AMOUNTS = {"a quarter": 0.25, "a third": 1 / 3, "a half": 0.5, "half a": 0.5, "half an": 0.5,
            "2 thirds": 2 / 3, "3 quarters": 0.75}  # fmt: skip
"""Spoken amounts: "how many tablespoons in a quarter cup" (the base said 3)."""
_NUMBER = r"\d+(?: point \d+)?"
"""A number in the normalised transcript ("98.6" is "98 point 6" by then, as it is said)."""
_CONVERSIONS = (
    re.compile(
        r"^how many (?P<to>[a-z ]+?) (?:are there |is there |are |is )?in "
        rf"(?:(?P<spoken>(?P<amount>{'|'.join(_AMOUNTS)})(?: of)?(?: a| an)?) "
        rf"|(?:a |an |one )?(?P<n>{_NUMBER})? ?)(?P<from>[a-z ]+?)$"
    ),
    re.compile(
        rf"^(?:convert )?(?P<n>{_NUMBER}) (?P<from>[a-z ]+?) (?:in|to|into|as) (?P<to>[a-z ]+?)$"
    ),
    re.compile(rf"^how many (?P<to>[a-z ]+?) (?:is|are) (?P<n>{_NUMBER}) (?P<from>[a-z ]+?)$"),
)


def convert(text: str) -> Answer | None:
    """ "how many feet in 3 meters" → "3 meters is 9.843 feet."."""
    for pattern in _CONVERSIONS:
        hit = pattern.match(text)
        if hit is None:
            continue
        source, target = _unit(hit["from"]), _unit(hit["to"])
        if source is None or target is None or _UNITS[source][0] != _UNITS[target][0]:
            return None
        spoken = hit.groupdict().get("spoken")
        number = hit["n"].replace(" point ", ".") if hit["n"] else "1"
        amount = _AMOUNTS[hit["amount"]] if spoken else float(number)
        if _UNITS[source][0] == "temperature":
            value = _FROM_KELVIN[target](_TO_KELVIN[source](amount))
            return Answer(f"{_fmt(amount)} degrees {source.capitalize()} is {_fmt(value)} "
                          f"degrees {target.capitalize()}.", "units")  # fmt: skip
        value = amount * _UNITS[source][1] / _UNITS[target][1]
        given = f"{spoken} {source}" if spoken else f"{_fmt(amount)} {_plural(source, amount)}"
        return Answer(f"{given} is {_fmt(value)} {_plural(target, value)}.", "units")
    return None


def _plural(unit: str, amount: float) -> str:
    if amount == 1:
        return unit
    return {"foot": "feet", "inch": "inches"}.get(unit, unit + "s")


# -- dates ---------------------------------------------------------------------------------

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]  # fmt: skip
_UNTIL = re.compile(
    r"^(?:how many (?:days|sleeps)|how long) (?:are |is it |is there )?(?:left )?"
    r"(?:until|till|til|to|before) "
    r"(?:next )?(?P<when>[a-z0-9' ]+)$"
)
_AGO = re.compile(
    r"^(?:was )?(?:the )?(?:day|date|day of the week) (?:was it |was )?"
    r"(?P<n>\d+) (?P<unit>days?|weeks?) ago$"
)
_IN_DAYS = re.compile(
    r"^(?:the )?(?:day|date|day of the week|what day|what date|what day will it be"
    r"|what date will it be|what day is it|what's the date) (?:will it be |is it )?"
    r"in (?P<n>\d+) (?P<unit>days?|weeks?)$"
)


_ON_DAY = (
    re.compile(r"^(?:is |was |will be )?(?P<when>the day (?:after tomorrow|before yesterday))$"),
    re.compile(
        r"^(?:was |is |will be )?(?:the )?(?:day of the week|day|date) "
        r"(?:is it |was it |will it be |is |was |will be )?"
        r"(?:on )?(?P<when>[a-z0-9' ]+)$"
    ),
    re.compile(r"^(?P<when>today|tomorrow|yesterday)'?s? (?:day|date)$"),
    re.compile(r"^when (?:is|was|will be) (?P<when>[a-z0-9' ]+?)(?P<this> this year)?$"),
)
_WEEK = re.compile(
    r"^(?:the )?(?:current )?week (?:of the year |number )?(?:is it|is this|are we in)(?: now)?$"
)
_LEFT_IN_YEAR = re.compile(
    r"^how many days (?:are )?(?:left|remaining) (?:in|of) (?:the|this) year$"
)
_YEAR_OR_MONTH = re.compile(
    r"^(?:the )?(?:current )?(?P<what>year|month)(?: is it| is this| are we in)?(?: now)?$"
)
_RELATIVE = {"today": 0, "tomorrow": 1, "yesterday": -1, "the day after tomorrow": 2,
             "the day before yesterday": -2}  # fmt: skip


def _named_day(when: str, today: date, this_year: bool = False) -> tuple[date, str] | None:
    """ "tomorrow", "last friday", "next friday", "christmas", "march 3rd" → a date (the
    next one, or this year's when ``this_year``)."""
    if when in _RELATIVE:
        return today + timedelta(days=_RELATIVE[when]), when.capitalize()
    first, _, rest = when.partition(" ")
    if first == "last" and rest in _WEEKDAYS:
        behind = (today.weekday() - _WEEKDAYS.index(rest)) % 7 or 7
        return today - timedelta(days=behind), f"Last {rest.capitalize()}"
    if first in ("next", "this") and rest in _WEEKDAYS:
        return _coming(rest, today), f"{first.capitalize()} {rest.capitalize()}"
    return _target_date(when, today, this_year)


def _coming(weekday: str, today: date) -> date:
    """The next ``weekday`` after today (a week ahead when today is one)."""
    return today + timedelta(days=(_WEEKDAYS.index(weekday) - today.weekday()) % 7 or 7)


_EASTER_OFFSETS = {"easter": 0, "easter sunday": 0, "good friday": -2, "easter monday": 1}
"""Movable feasts, in days from Easter Sunday."""


def _easter(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 (the algorithm's own names)
    m = (a + 11 * h + 19 * l) // 433
    month = (h + l - 7 * m + 90) // 25
    return date(year, month, (h + l - 7 * m + 33 * month + 19) % 32)


def _target_date(when: str, today: date, this_year: bool = False) -> tuple[date, str] | None:
    """The next date (today included) that ``when`` names, or this year's when
    ``this_year``: a weekday, a holiday, a day of a month, a date with its year. A day
    that no month has ("february 30") raises _NoSuchDay."""
    if when in _WEEKDAYS:
        return _coming(when, today), when.capitalize()
    fixed = {"christmas": (12, 25, "Christmas"), "christmas day": (12, 25, "Christmas"),
             "new year": (1, 1, "New Year's Day"), "new year's": (1, 1, "New Year's Day"),
             "new year's day": (1, 1, "New Year's Day"), "new years": (1, 1, "New Year's Day"),
             "halloween": (10, 31, "Halloween")}  # fmt: skip
    given_year = 0
    if when in _EASTER_OFFSETS:
        name = "Easter" if when.startswith("easter s") else when.title()

        def in_year(year: int) -> date:
            return _easter(year) + timedelta(days=_EASTER_OFFSETS[when])

    else:
        if when in fixed:
            month, day, name = fixed[when]
        else:
            parts = when.replace("the ", "").replace(" of", "").split()
            if len(parts) == 3 and re.fullmatch(r"\d{4}", parts[-1]):  # "july 4th 1776"
                given_year = int(parts.pop())
            if len(parts) != 2:
                return None
            month_word, day_word = parts if parts[0] in _MONTHS else parts[::-1]
            if month_word not in _MONTHS or not re.fullmatch(r"\d+(?:st|nd|rd|th)?", day_word):
                return None
            month, day = _MONTHS.index(month_word) + 1, int(re.sub(r"\D", "", day_word))
            name = f"{month_word.capitalize()} {day}"

        def in_year(year: int) -> date:
            return date(year, month, day)

    years = [given_year] if given_year else range(today.year, today.year + 9)
    for year in years:  # February 29 waits for a leap year
        try:
            target = in_year(year)
        except ValueError:
            continue
        if target >= today or this_year or given_year:
            return target, name
    raise _NoSuchDay(f"There is no {name}{f', {given_year}' if given_year else ''}.")


def dates(text: str, now: datetime) -> Answer | None:
    """ "how many days until friday", "what day is it in 10 days", "is 2028 a leap year",
    "how long until midnight", "what time is it in tokyo"."""
    today = now.date()
    if hit := _YEAR_OR_MONTH.match(text):  # "what year is it"
        return Answer(f"It's {today.year if hit['what'] == 'year' else today.strftime('%B')}.",
                      "date")  # fmt: skip
    if _WEEK.match(text):  # the base said week 44 in week 47
        week = today.isocalendar()
        return Answer(f"It's week {week.week} of {week.year}.", "date")
    if _LEFT_IN_YEAR.match(text):  # the base said 365 on November 22
        left = (date(today.year, 12, 31) - today).days
        return Answer(f"{left} days are left in {today.year} after today.", "date")
    try:
        return (
            _leap_year(text, today)
            or _time_until(text, now)
            or _time_in(text, now)
            or _until(text, today)
            or _on_day(text, today)
        )
    except _NoSuchDay as exc:  # "how many days until february 30"
        return Answer(str(exc), "date")


_LEAP = re.compile(r"^(?:is|was|will) (?P<year>\d{1,4}) (?:be )?a leap year$")
_NEXT_LEAP = re.compile(r"^(?:when is |when's )?(?:the )?next leap year$")


def _leap_year(text: str, today: date) -> Answer | None:
    """ "is 2027 a leap year" (the base said yes), "when is the next leap year"."""
    if _NEXT_LEAP.match(text):
        year = next(y for y in range(today.year + 1, today.year + 9) if calendar.isleap(y))
        return Answer(f"The next leap year is {year}.", "date")
    if (hit := _LEAP.match(text)) is None:
        return None
    year = int(hit["year"])
    verb = "was" if year < today.year else "is"
    if calendar.isleap(year):
        return Answer(f"Yes, {year} {verb} a leap year.", "date")
    return Answer(f"No, {year} {verb} not a leap year.", "date")


_TIME_UNTIL = re.compile(
    r"^how (?:many (?P<unit>hours|minutes)|long|much time) (?:is it |is there |are there "
    r"|do i have |are )?(?:left )?(?:until|till|til|to|before) (?:it's |it is )?"
    r"(?P<when>midnight|noon|midday|(?P<h>\d{1,2})(?: (?P<m>\d{2}))? ?"
    r"(?P<suffix>am|pm|a m|p m|o'clock|oclock|in the morning|in the afternoon|in the evening"
    r"|at night|tonight)?)$"
)


_HALF_OF_DAY = {"am": "am", "a m": "am", "in the morning": "am", "pm": "pm", "p m": "pm",
                "in the afternoon": "pm", "in the evening": "pm", "at night": "pm",
                "tonight": "pm"}  # fmt: skip


def _time_until(text: str, now: datetime) -> Answer | None:
    """ "how many hours until midnight" → "2 hours and 33 minutes until midnight." (the
    base said 13 hours at 9:27 PM). A clock time without AM or PM is the next one."""
    if (hit := _TIME_UNTIL.match(text)) is None:
        return None
    when = hit["when"]
    if when in ("midnight", "noon", "midday"):
        hours, minute = [0 if when == "midnight" else 12], 0
    else:
        hour, minute = int(hit["h"]), int(hit["m"] or 0)
        half = _HALF_OF_DAY.get(hit["suffix"] or "", "")  # "am", "pm" or not said
        if not 0 <= hour <= 23 or minute > 59 or (half in ("am", "pm") and not 1 <= hour <= 12):
            return None
        if half in ("am", "pm"):
            hours = [hour % 12 + (12 if half == "pm" else 0)]
        else:
            hours = [hour % 12, hour % 12 + 12] if hour <= 12 else [hour]
    start = now.replace(second=0, microsecond=0)
    targets = [start.replace(hour=h, minute=minute) for h in hours]
    target = min(t if t > start else t + timedelta(days=1) for t in targets)
    minutes = int((target - start).total_seconds() // 60)
    name = when if when in ("midnight", "noon", "midday") else _clock(target)
    if hit["unit"] == "minutes" or minutes < 60:
        span = f"{minutes} minute{'s' * (minutes != 1)}"
    else:
        span = f"{minutes // 60} hour{'s' * (minutes // 60 != 1)}"
        if minutes % 60:
            span += f" and {minutes % 60} minute{'s' * (minutes % 60 != 1)}"
    return Answer(f"{span} until {name}.", "date")


def _clock(moment: datetime) -> str:
    """ "6 PM", "5:30 AM": as the time rule says it."""
    return moment.strftime("%I %p" if moment.minute == 0 else "%I:%M %p").lstrip("0")


_TIME_IN = re.compile(
    r"^(?:time is it|the time|the time now|time) (?:right now |now )?in (?P<place>[a-z ]+?)"
    r"(?: right now| now)?$"
)
_COUNTRIES = {
    "japan": "Asia/Tokyo", "china": "Asia/Shanghai", "india": "Asia/Kolkata",
    "england": "Europe/London", "ireland": "Europe/Dublin", "france": "Europe/Paris",
    "germany": "Europe/Berlin", "italy": "Europe/Rome", "spain": "Europe/Madrid",
    "new zealand": "Pacific/Auckland", "korea": "Asia/Seoul", "south korea": "Asia/Seoul",
    "egypt": "Africa/Cairo",
}  # fmt: skip
"""Countries with one time zone that people ask for by name; cities come from tzdata."""


@functools.cache
def _places() -> dict[str, str]:
    """Spoken place name → time zone key: every city in the host's tzdata ("new york" →
    "America/New_York"), and the countries above."""
    places: dict[str, str] = {}
    for key in sorted(zoneinfo.available_timezones()):
        area, _, city = key.rpartition("/")
        if area and not area.startswith(("Etc", "SystemV", "US")):
            places.setdefault(city.replace("_", " ").lower(), key)
    return places | _COUNTRIES


def _time_in(text: str, now: datetime) -> Answer | None:
    """ "what time is it in tokyo" → "In Tokyo it's 6:27 AM, Monday." (a language model
    only guesses; the local clock is converted with the host's time zone data)."""
    if (hit := _TIME_IN.match(text)) is None:
        return None
    place = hit["place"]
    key = _places().get(place)
    if key is None:
        return None
    local = now if now.tzinfo is not None else now.astimezone()
    there = local.astimezone(zoneinfo.ZoneInfo(key))
    day = f", {there:%A}" if there.date() != local.date() else ""
    return Answer(f"In {place.title()} it's {_clock(there)}{day}.", "date")


def _on_day(text: str, today: date) -> Answer | None:
    """ "what day is it tomorrow" → "Tomorrow is Monday, November 23."."""
    hit = next((m for pattern in _ON_DAY if (m := pattern.match(text))), None)
    this_year = bool(hit and hit.groupdict().get("this"))
    found = _named_day(hit["when"].strip(), today, this_year) if hit else None
    if found is None:
        return None
    target, name = found
    verb = "was" if target < today else "is"
    year = f", {target.year}" if target.year != today.year else ""
    if name.split()[0].lower() in _MONTHS:
        return Answer(f"{name}{year} {verb} a {target.strftime('%A')}.", "date")
    if name.split()[-1].lower() in _WEEKDAYS:  # "Next Friday is November 27."
        return Answer(f"{name} {verb} {target.strftime('%B')} {target.day}{year}.", "date")
    return Answer(f"{name} {verb} {target.strftime('%A, %B')} {target.day}{year}.", "date")


def _until(text: str, today: date) -> Answer | None:
    if hit := _UNTIL.match(text):
        found = _target_date(hit["when"].strip(), today)
        if found is None:
            return None
        target, name = found
        days = (target - today).days
        if days == 0:
            return Answer(f"{name} is today.", "date")
        if days < 0:  # "how many days until july 4th 1776"
            return Answer(f"{name}, {target.year} was {-days} days ago.", "date")
        unit = "day" if days == 1 else "days"
        if name in map(str.capitalize, _WEEKDAYS):
            on = f"{target.strftime('%B')} {target.day}"
        elif name.split()[0].lower() in _MONTHS:
            on = f"a {target.strftime('%A')}"
        else:
            on = f"{target.strftime('%A, %B')} {target.day}"
        return Answer(f"{days} {unit} until {name}, {on}.", "date")
    if hit := _IN_DAYS.match(text):
        days = int(hit["n"]) * (7 if hit["unit"].startswith("week") else 1)
        if days > 36_500:
            return None
        target = today + timedelta(days=days)
        return Answer(f"In {hit['n']} {hit['unit']} it will be {target.strftime('%A, %B')} "
                      f"{target.day}, {target.year}.", "date")  # fmt: skip
    if hit := _AGO.match(text):  # the base said "Three days ago was a Saturday." on a Sunday
        days = int(hit["n"]) * (7 if hit["unit"].startswith("week") else 1)
        if days > 36_500:
            return None
        target = today - timedelta(days=days)
        year = f", {target.year}" if target.year != today.year else ""
        return Answer(f"{hit['n']} {hit['unit']} ago it was {target.strftime('%A, %B')} "
                      f"{target.day}{year}.", "date")  # fmt: skip
    return None


# -- spelling ------------------------------------------------------------------------------

_SPELL = (
    re.compile(
        r"^(?:(?:can you |could you )?spell|how (?:do|would|should) (?:you|i|we) spell"
        r"|the spelling of) (?:the word )?(?P<word>[a-z]{2,30})(?: for me)?$"
    ),
    re.compile(r"^how is (?:the word )?(?P<word>[a-z]{2,30}) spelled$"),
)
_NOT_A_WORD_TO_SPELL = frozenset({"it", "that", "this", "them", "these", "those", "something"})
""""Spell it" refers to a word said before, which is not the word "it"."""


def spelling(text: str) -> Answer | None:
    """ "how do you spell necessary" → "Necessary is spelled N, E, C, E, S, S, A, R, Y."

    A language model sees tokens, not letters ("Sure, I can help with that."); the word as
    the transcript writes it is spelled letter by letter, commas making the voice say each.
    """
    hit = next((m for pattern in _SPELL if (m := pattern.match(text))), None)
    if hit is None or hit["word"] in _NOT_A_WORD_TO_SPELL:
        return None
    word = hit["word"]
    return Answer(f"{word.capitalize()} is spelled {', '.join(word.upper())}.", "spelling")


# -- chance --------------------------------------------------------------------------------

_COIN = re.compile(r"^(?:can you |could you )?(?:flip|toss) a coin$|^heads or tails$")
_DIE = re.compile(r"^(?:can you |could you )?roll (?:a|1|one) (?:die|dice)$")
_RANDOM = re.compile(
    r"^(?:can you |could you )?(?:give me |pick |choose |think of )?(?:me )?a random number "
    r"(?:between|from) (?P<low>\d+) (?:and|to) (?P<high>\d+)$"
)


def chance(text: str, rng: random.Random | None = None) -> Answer | None:
    """A coin, a die or a random number, drawn for real (from ``rng``, by default the
    system's): greedy decoding made the base say "Heads." to every coin flip."""
    rng = rng or random.SystemRandom()
    if _COIN.match(text):
        return Answer(f"{rng.choice(['Heads', 'Tails'])}.", "chance")
    if _DIE.match(text):
        return Answer(f"You rolled a {rng.randint(1, 6)}.", "chance")
    if hit := _RANDOM.match(text):
        low, high = sorted((int(hit["low"]), int(hit["high"])))
        return Answer(f"{rng.randint(low, high)}.", "chance")
    return None


def answer(transcript: str, now: datetime, rng: random.Random | None = None) -> Answer | None:
    """The exact answer to an arithmetic, unit, date or spelling question, or None (and a
    coin, a die or a random number, drawn from ``rng``)."""
    text = normalise(transcript)
    text = _SUFFIX.sub("", _PREFIX.sub("", text, count=1), count=1).strip()
    if not text:
        return None
    found = (
        arithmetic(text.split())
        or primality(text)
        or convert(text)
        or dates(text, now)
        or spelling(text)
        or chance(text, rng)
    )
    if found is None:
        return None
    return replace(found, reply=found.reply[:1].upper() + found.reply[1:])  # "The square root …"
