"""Arithmetic said in words: "17 times 23", "half of 100", "is 91 a prime number"."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal

from sage.cascade.deterministic.answer import MAX_MAGNITUDE, NUMBER, Answer, spoken_number


class _NoParse(Exception):
    """Not an arithmetic question."""


class _Incomplete(Exception):
    """The question stopped right after an operator ("what is 3 plus"): a speaker cut off
    mid-sentence, or a pause the segmenter took for the end."""


_ADD = {"plus": 1, "and": 1, "minus": -1}
_MUL = ("times", "x", "multiplied by", "divided by", "over")
_SHARES = {"half of": 0.5, "a half of": 0.5, "a third of": 1 / 3, "a quarter of": 0.25,
           "double": 2.0, "twice": 2.0, "triple": 3.0}  # fmt: skip
_AMOUNTS = {"half a dozen": 6.0, "a dozen": 12.0, "dozen": 12.0, "a half": 0.5,
            "a third": 1 / 3, "a quarter": 0.25}  # fmt: skip
"""Numbers said as words that normalise leaves: "a quarter plus a third" (the base said 1)."""
_FRACTIONS = ("a half", "a third", "a quarter")
"""What "3 and a half" adds to its whole number."""
_PARTS = {"halves": 2, "thirds": 3, "quarters": 4, "fourths": 4, "fifths": 5, "eighths": 8,
          "tenths": 10, "half": 2, "third": 3, "quarter": 4, "fourth": 4, "fifth": 5,
          "eighth": 8, "tenth": 10}  # fmt: skip
"""Denominators of "3 quarters of 200", "2 thirds of 9", "1 third of 90"."""
_PERCENT_OF = [f"percent {what}{on}" for what in ("", "tip ", "tax ", "sales tax ", "vat ")
               for on in (("of",) if not what else ("on", "for"))]  # fmt: skip
"""A share of a sum: "15 percent of 80", "a 20 percent tip on 45", "7 percent sales tax
on 20 dollars"."""
_ORDINALS = {"second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10}  # fmt: skip
MAX_FACTORIAL = 170
"""The largest factorial a float holds; beyond it the answer is too large to say."""
MAX_PRIME_CHECK = 10**12
"""Primality is checked by trial division up to the square root: a million steps at most."""


def _factorial(value: float) -> float:
    if value != int(value) or value < 0:
        raise _NoParse
    if value > MAX_FACTORIAL:
        raise OverflowError
    return float(math.factorial(int(value)))


class _Arithmetic:
    """Recursive descent over words:

    expr   := term (("plus" | "minus") term ["percent"])*
    term   := factor (("times" | "divided by" | "over") factor)*
    factor := "minus" factor | ("square root of" | "cube root of" | "factorial of") factor
            | share factor
            | ("the square of" | "the cube of") factor
            | atom ["factorial" | "squared" | "cubed" | "to the power of" atom
                    | "to the" ordinal "power"]
            | ["the"] "tip" ("on" | "for") factor "at" atom "percent"
    share  := "half of" | "a third of" | "a quarter of" | "double" | "twice" | "triple"
    atom   := (number ["point" digits] ["and" fraction] | amount)
              [percent factor | parts ["of" factor]]
    amount := "half a dozen" | "a dozen" | "dozen" | "a half" | "a third" | "a quarter"
    percent:= "percent of" | "percent" ("tip" | "tax" | "sales tax" | "vat") ("on" | "for")
            | "percent off"
    parts  := "halves" | "thirds" | "quarters" | "fourths" | "fifths" | "eighths" | "tenths"
            | and each in the singular ("1 third of 90")
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
            rhs = self.term()
            if self.take("percent"):  # "80 plus 20 percent": a share of what it is added to
                rhs = value * rhs / 100
            value += sign * rhs
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
        if self.take("the factorial of") or self.take("factorial of"):
            self.operators += 1
            return _factorial(self.factor())
        if self.take("the cube root of") or self.take("cube root of"):
            self.operators += 1
            return math.cbrt(self.factor())
        for phrase, power in (("the square of", 2), ("square of", 2), ("the cube of", 3),
                              ("cube of", 3)):  # fmt: skip
            if self.take(phrase):
                self.operators += 1
                return self.factor() ** power
        if any(self.take(f"{the}tip {on}") for the in ("the ", "") for on in ("on", "for")):
            self.operators += 1  # "the tip on 45 at 20 percent" (the base only explained how)
            bill = self.factor()
            if not self.take("at"):
                raise _NoParse
            rate = self.atom()
            if not self.take("percent"):
                raise _NoParse
            return bill * rate / 100
        share = next((phrase for phrase in _SHARES if self.peek(phrase)), None)
        if share is not None:
            self.take(share)
            self.operators += 1
            return _SHARES[share] * self.factor()
        value = self.atom()
        if self.take("factorial"):  # the base's 5 factorial was right, by luck of memory
            self.operators += 1
            return _factorial(value)
        if (ordinal := self.ordinal_power()) is not None:  # "to the fourth power"
            return value**ordinal
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

    def ordinal_power(self) -> int | None:
        """ "to the fourth power", "to the 10th power" → 4, 10."""
        words = self.words[self.pos : self.pos + 4]
        if len(words) < 4 or words[:2] != ["to", "the"] or words[3] != "power":
            return None
        ordinal = words[2]
        if ordinal in _ORDINALS:
            exponent = _ORDINALS[ordinal]
        elif re.fullmatch(r"\d+(?:st|nd|rd|th)", ordinal):
            exponent = int(ordinal[:-2])
        else:
            return None
        self.pos += 4
        self.operators += 1
        return exponent

    def atom(self) -> float:
        if self.pos >= len(self.words):
            raise _Incomplete if self.operators else _NoParse
        amount = next((a for a in _AMOUNTS if self.peek(a)), None)
        if amount is not None:
            self.take(amount)
            value = _AMOUNTS[amount]
        else:
            value = _number(self.words[self.pos])
            self.pos += 1
            fraction = next((f for f in _FRACTIONS if self.peek(f"and {f}")), None)
            if fraction is not None:  # "3 and a half": one number, not 3 plus a half
                self.take(f"and {fraction}")
                value += _AMOUNTS[fraction]
        if self.take("point") and self.pos < len(self.words) and self.words[self.pos].isdigit():
            value = float(f"{int(value)}.{self.words[self.pos]}")
            self.pos += 1
        if any(self.take(phrase) for phrase in _PERCENT_OF):
            self.operators += 1
            return value / 100 * self.factor()
        if self.take("percent off"):  # a discount: the base said 25 percent off 80 is 50
            self.operators += 1
            return (1 - value / 100) * self.factor()
        parts = next((p for p in _PARTS if self.peek(p)), None)
        if parts is not None:  # "3 quarters of 200", "half of 3 quarters" (the base said 1.5)
            self.take(parts)
            self.operators += 1
            return value / _PARTS[parts] * (self.factor() if self.take("of") else 1.0)
        return value


def _number(word: str) -> float:
    try:
        return float(word)
    except ValueError:
        raise _NoParse from None


_CURRENCIES = {"dollars": "dollars", "dollar": "dollars", "bucks": "dollars",
               "euros": "euros", "euro": "euros"}  # fmt: skip
"""Money said with its sum ("a 20 percent tip on 45 dollars"; "$45" is "45" by then): the
answer is in that currency, to the cent. Not "pounds", which are weighed too."""


def arithmetic(words: list[str]) -> Answer | None:
    """ "17 times 23" → "17 times 23 is 391."; "25 percent off 80 dollars" → "... is 60
    dollars."."""
    currencies = {_CURRENCIES[w] for w in words if w in _CURRENCIES}
    if len(currencies) > 1:
        return None  # "5 dollars plus 3 euros" needs a rate SAGE does not have
    currency = currencies.pop() if currencies else ""
    numeric = [w for w in words if w not in _CURRENCIES]
    if numeric[:1] == ["a"] and numeric[1:2] and numeric[1][0].isdigit():
        numeric = numeric[1:]  # "a 20 percent tip on 45"
    asked = re.sub(r"(?<=\d) point (?=\d)", ".", " ".join(words))  # "2.5 times 4"
    try:
        value = _Arithmetic(numeric).parse()
    except _NoParse:
        return None
    except _Incomplete:  # asked back, rather than a language model guessing the rest
        return Answer(f"{asked} what?", "arithmetic", unfinished=asked)
    except ZeroDivisionError:
        return Answer("That's undefined: you can't divide by zero.", "arithmetic")
    except ValueError:
        return Answer("I can't give a real number for that.", "arithmetic")
    except OverflowError:
        value = math.inf
    if abs(value) > MAX_MAGNITUDE:
        return Answer("That number is too large to say usefully.", "arithmetic")
    if currency:
        cents = Decimal(repr(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)  # 7.125 → 7.13
        said = str(int(cents)) if cents == int(cents) else str(cents)
        return Answer(f"{asked} is {said} {currency}.", "arithmetic",
                      value=float(cents))  # fmt: skip
    return Answer(f"{asked} is {spoken_number(value)}.", "arithmetic", value=value)


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


_ROUND = re.compile(
    rf"^(?:round (?:off )?(?P<n>{NUMBER})|(?P<m>{NUMBER}) rounded(?: off)?)"
    r" to (?:the nearest )?(?P<to>.+)$"
)
_PLACES = re.compile(r"^(?P<k>\d) decimals?(?: places?)?$")
_NEAREST = {"whole number": 0, "integer": 0, "number": 0, "tenth": 1, "hundredth": 2,
            "thousandth": 3, "10": -1, "ten": -1, "hundred": -2, "100": -2, "thousand": -3,
            "1000": -3}  # fmt: skip
"""Places after the point that "to the nearest X" keeps (negative: before it)."""


def rounding(text: str) -> Answer | None:
    """ "round 3.14159 to 2 decimals" → "3.14159 rounded to 2 decimal places is 3.14.";
    halves round up, as they are taught (2.5 → 3), not to even."""
    hit = _ROUND.match(text)
    if hit is None:
        return None
    to = hit["to"]
    said = _PLACES.match(to)
    places = int(said["k"]) if said else _NEAREST.get(to)
    if places is None:
        return None
    number = Decimal((hit["n"] or hit["m"]).replace(" point ", "."))
    if number > MAX_MAGNITUDE:
        return Answer("That number is too large to say usefully.", "arithmetic")
    rounded = number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)  # 1E+2: hundreds
    how = f"{places} decimal place{'s' * (places != 1)}" if said else f"the nearest {to}"
    return Answer(f"{number} rounded to {how} is {rounded:f}.", "arithmetic",
                  value=float(rounded))  # fmt: skip


_PARITY = re.compile(r"^is (?P<n>\d+) (?:an |a )?(?P<kind>even|odd)(?: number)?$")


def parity(text: str) -> Answer | None:
    """ "is 17 an even number" → "No, 17 is an odd number." (the base said "Yes, 17 is an
    odd number.")."""
    hit = _PARITY.match(text)
    if hit is None:
        return None
    even = int(hit["n"]) % 2 == 0
    yes = even == (hit["kind"] == "even")
    return Answer(f"{'Yes' if yes else 'No'}, {hit['n']} is an {'even' if even else 'odd'} "
                  "number.", "arithmetic")  # fmt: skip


_AVERAGE = re.compile(
    rf"^(?:the )?(?:average|mean) of (?P<numbers>{NUMBER}(?: (?:and )?{NUMBER})+)$"
)


def average(text: str) -> Answer | None:
    """ "the average of 4 8 and 15" → "The average of 4, 8 and 15 is 9." (the base said
    12)."""
    hit = _AVERAGE.match(text)
    if hit is None:
        return None
    said = re.findall(NUMBER, hit["numbers"])
    mean = sum(float(n.replace(" point ", ".")) for n in said) / len(said)
    listed = f"{', '.join(said[:-1])} and {said[-1]}".replace(" point ", ".")
    return Answer(f"The average of {listed} is {spoken_number(mean)}.", "arithmetic", value=mean)


_SUM = rf"{NUMBER}(?: dollars| euros| bucks)?"
_SPLIT = re.compile(
    rf"^(?:(?:split|divide|share) (?P<sum>{_SUM})|(?P<said>{_SUM}) (?:split|divided|shared)) "
    r"(?:(?:between|among|amongst|by|into|in) (?P<k>\d+)(?: people| persons| ways| friends)?"
    r"|(?P<ways>\d+) ways)$"
)


def split(text: str) -> Answer | None:
    """ "split 120 dollars between 4 people", "(how much is) 120 dollars split 4 ways" →
    "120 dollars split 4 ways is 30 dollars each." (money to the cent)."""
    hit = _SPLIT.match(text)
    if hit is None:
        return None
    ways = hit["k"] or hit["ways"]
    total = hit["sum"] or hit["said"]
    shared = arithmetic(f"{total} divided by {ways}".split())
    if shared is None or shared.value is None:
        return shared  # "… by 0" is undefined
    each = shared.reply.rsplit(" is ", 1)[1].rstrip(".")
    return Answer(f"{total} split {ways} ways is {each} each.", "arithmetic",
                  value=shared.value)  # fmt: skip


_REMAINDER = re.compile(
    r"^(?:the )?remainder (?:of|when|if) (?P<a>\d+) (?:is )?divided by (?P<b>\d+)$"
    r"|^(?P<x>\d+) (?:mod|modulo) (?P<y>\d+)$"
)


def remainder(text: str) -> Answer | None:
    """ "the remainder of 17 divided by 4" → 1 (the draft said 3); "17 mod 4"."""
    if (hit := _REMAINDER.match(text)) is None:
        return None
    a, b = int(hit["a"] or hit["x"]), int(hit["b"] or hit["y"])
    if b == 0:
        return Answer("That's undefined: you can't divide by zero.", "arithmetic")
    return Answer(f"The remainder of {a} divided by {b} is {a % b}.", "arithmetic",
                  value=float(a % b))  # fmt: skip
