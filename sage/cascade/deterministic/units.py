"""Unit conversions: "how many feet in 3 meters", "98.6 Fahrenheit in Celsius"."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction

from sage.cascade.deterministic.answer import NUMBER, Answer, spoken_number

_UNITS: dict[str, tuple[str, float]] = {
    # name: (dimension, size in the dimension's base unit)
    "millimeter": ("length", 0.001), "centimeter": ("length", 0.01), "meter": ("length", 1.0),
    "kilometer": ("length", 1000.0), "inch": ("length", 0.0254), "foot": ("length", 0.3048),
    "yard": ("length", 0.9144), "mile": ("length", 1609.344),
    "gram": ("mass", 0.001), "kilogram": ("mass", 1.0), "ounce": ("mass", 0.028349523125),
    "pound": ("mass", 0.45359237), "stone": ("mass", 6.35029318), "ton": ("mass", 1000.0),
    "milliliter": ("volume", 0.001), "liter": ("volume", 1.0), "teaspoon": ("volume", 0.00492892),
    "tablespoon": ("volume", 0.0147868), "cup": ("volume", 0.2365882365),
    "pint": ("volume", 0.473176473), "quart": ("volume", 0.946352946),
    "gallon": ("volume", 3.785411784),
    "stick": ("volume", 0.11829411825),  # of butter: half a US cup
    "fluid ounce": ("volume", 0.0295735295625),
    "second": ("time", 1.0), "minute": ("time", 60.0), "hour": ("time", 3600.0),
    "day": ("time", 86400.0), "week": ("time", 604800.0),
    "celsius": ("temperature", 1.0), "fahrenheit": ("temperature", 1.0),
    "kelvin": ("temperature", 1.0),
    "meter per second": ("speed", 1.0), "kilometer per hour": ("speed", 1 / 3.6),
    "mile per hour": ("speed", 0.44704), "foot per second": ("speed", 0.3048),
    "knot": ("speed", 0.514444),
}  # fmt: skip
_ALIASES = {
    "feet": "foot", "inches": "inch", "metre": "meter", "metres": "meter", "litre": "liter",
    "litres": "liter", "kilometre": "kilometer", "kilometres": "kilometer", "km": "kilometer",
    "centimetre": "centimeter", "centimetres": "centimeter", "cm": "centimeter",
    "millimetre": "millimeter", "millimetres": "millimeter", "mm": "millimeter",
    "millilitre": "milliliter", "millilitres": "milliliter", "ml": "milliliter",
    "kg": "kilogram", "kilo": "kilogram", "kilos": "kilogram", "lb": "pound", "lbs": "pound",
    "oz": "ounce", "degrees": "", "degree": "", "tonne": "ton", "tonnes": "ton",
    "tsp": "teaspoon", "tbsp": "tablespoon", "qt": "quart", "gal": "gallon",
    "mph": "mile per hour", "kph": "kilometer per hour", "kmh": "kilometer per hour",
    "c": "celsius", "f": "fahrenheit", "pt": "pint",
}  # fmt: skip
_PHRASES = {"km h": "kilometer per hour", "m s": "meter per second"}
"""Units typed with a slash ("km/h"), which normalise splits into two words."""
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


_OTHER_SCALE = {"celsius": "fahrenheit", "fahrenheit": "celsius"}
"""The scale "72 degrees" is in when it is asked in the other one."""
_FLUID = {"ounce": "fluid ounce"}
"""A mass unit that is also a volume, said against a volume (the base said 8, which is
right, but by luck)."""


def _unit(phrase: str) -> str | None:
    """The unit a phrase names: "tablespoons", "cups of flour" (what is measured does not
    change a volume), "degrees celsius"."""
    phrase = phrase.split(" of ")[0]
    phrase = _PHRASES.get(phrase, phrase)
    word = " ".join(w for w in (_ALIASES.get(w, w) for w in phrase.split()) if w)
    if word in _UNITS:
        return word
    head, per, tail = word.partition(" per ")  # "miles per hour": the head is counted
    singular = f"{head[:-1]}{per}{tail}"
    return singular if head.endswith("s") and singular in _UNITS else None


_GRAMS_PER_CUP = {
    "flour": 120, "all purpose flour": 120, "plain flour": 120, "bread flour": 120,
    "whole wheat flour": 113, "sugar": 198, "white sugar": 198, "granulated sugar": 198,
    "brown sugar": 213, "powdered sugar": 113, "icing sugar": 113, "confectioners sugar": 113,
    "butter": 227, "honey": 340, "maple syrup": 312, "cocoa": 84, "cocoa powder": 84,
    "oats": 89, "rolled oats": 89, "rice": 185, "salt": 292,
    "water": 236.6, "milk": 244, "oil": 218, "vegetable oil": 218, "olive oil": 216,
}  # fmt: skip
"""What a US cup of an ingredient weighs, for "2 cups of flour in grams" (the base said
113): King Arthur Baking's ingredient weight chart (flour spooned in and levelled, brown
sugar packed), USDA FoodData Central for rice, salt, milk and the oils, water by its
density. A cup varies with how it is filled, so these answers say "about"."""
_LIQUIDS = frozenset({"water", "milk", "oil", "vegetable oil", "olive oil"})
"""Ingredients whose ounces are fluid ounces; flour's or butter's are weighed."""
_AMOUNTS = {"a quarter": 0.25, "a third": 1 / 3, "a half": 0.5, "half a": 0.5, "half an": 0.5,
            "2 thirds": 2 / 3, "3 quarters": 0.75}  # fmt: skip
"""Spoken amounts: "how many tablespoons in a quarter cup" (the base said 3)."""
_PARTS = {said: part for said, part in _AMOUNTS.items() if not said.startswith("half")}
"""What "1 and ..." adds to its whole number: "a half", "3 quarters"."""
_QUANTITY = rf"{NUMBER}(?: and (?:{'|'.join(_PARTS)})| divided by \d+)?"
"""A number as a recipe says it: "1 and a half", "3/4" (normalised to "3 divided by 4")."""
_CONVERSIONS = (
    re.compile(
        r"^how many (?P<to>[a-z ]+?) (?:are there |is there |are |is )?in "
        rf"(?:(?P<spoken>(?P<amount>{'|'.join(_AMOUNTS)})(?: of)?(?: a| an)?) "
        rf"|(?:a |an |one )?(?P<n>{_QUANTITY})? ?)(?P<from>[a-z ]+?)$"
    ),
    re.compile(
        rf"^(?:convert |how (?:tall|long|far|heavy|big|fast) is )?(?:(?P<n>{_QUANTITY})|an?) "
        r"(?P<from>[a-z ]+?) (?:in|to|into|as|and) (?P<to>[a-z ]+?)$"  # whisper: "and" for "in"
    ),
    re.compile(
        rf"^how many (?P<to>[a-z ]+?) (?:is|are) (?:a |an |(?P<n>{_QUANTITY}) )(?P<from>[a-z ]+?)$"
    ),
)
_SHARES = {"half": 0.5, "a half": 0.5, "a third": 1 / 3, "a quarter": 0.25, "double": 2.0,
           "twice": 2.0, "triple": 3.0}  # fmt: skip
_SHARE = re.compile(
    rf"^(?P<share>{'|'.join(_SHARES)})(?: of)? (?:(?P<amount>{'|'.join(_AMOUNTS)})|"
    rf"(?P<n>{_QUANTITY})) (?:of )?(?:a |an |the )?(?P<unit>[a-z ]+?)$"
)
"""A recipe scaled: "half of 3 quarters of a cup" (the base said "one and a half cups",
then "one quarter of a cup")."""
_SMALLER = {"cup": ("tablespoon", 16), "tablespoon": ("teaspoon", 3)}


_FEET_AND_INCHES = re.compile(
    rf"\b(?P<ft>\d+) (?:feet|foot) (?:and )?(?P<in>{NUMBER})(?: inch(?:es)?)?\b"
)
"""A height as it is said: "5 feet 10 inches in centimeters" (the base said 177.18)."""


def convert(text: str) -> Answer | None:
    """ "how many feet in 3 meters" → "3 meters is 9.843 feet."; a height in feet and
    inches is converted as its inches and said back as it was asked."""
    height = _FEET_AND_INCHES.search(text)
    if height is None:
        return _convert(text)
    inches = int(height["ft"]) * 12 + float(height["in"].replace(" point ", "."))
    as_inches = spoken_number(inches).replace(".", " point ")
    found = _convert(text.replace(height[0], f"{as_inches} inches"))
    if found is None:
        return None
    asked = height[0].replace(" point ", ".")
    return replace(found, reply=found.reply.replace(f"{spoken_number(inches)} inches", asked, 1))


def _quantity(said: str | None) -> float:
    """ "1 and a half" → 1.5, "3 divided by 4" → 0.75, nothing → 1."""
    if not said:
        return 1.0
    number, _, part = said.replace(" point ", ".").partition(" and ")
    number, _, divisor = number.partition(" divided by ")
    return float(number) / float(divisor or 1) + _PARTS.get(part, 0.0)


def _ingredient(*phrases: str) -> str | None:
    """What is measured, where the weight chart has it: "cups of flour" → "flour"."""
    for phrase in phrases:
        what = phrase.partition(" of ")[2]
        if what in _GRAMS_PER_CUP:
            return what
    return None


def _convert(text: str) -> Answer | None:
    for pattern in _CONVERSIONS:
        hit = pattern.match(text)
        if hit is None:
            continue
        source, target = _unit(hit["from"]), _unit(hit["to"])
        if hit["from"] in ("degrees", "degree") and target in _OTHER_SCALE:
            source = _OTHER_SCALE[target]  # "72 degrees in celsius": the base said 21.7777…
        if source is None or target is None:
            return None
        ingredient = _ingredient(hit["from"], hit["to"])
        if _UNITS[source][0] != _UNITS[target][0] and ingredient in (None, *_LIQUIDS):
            if _UNITS[target][0] == "volume":  # "ounces in a cup" are fluid ounces
                source = _FLUID.get(source, source)
            if _UNITS[source][0] == "volume":
                target = _FLUID.get(target, target)
        spoken = hit.groupdict().get("spoken")
        amount = _AMOUNTS[hit["amount"]] if spoken else _quantity(hit["n"])
        if _UNITS[source][0] != _UNITS[target][0]:
            return _weighed(amount, spoken, source, target, ingredient)
        if _UNITS[source][0] == "temperature":
            value = _FROM_KELVIN[target](_TO_KELVIN[source](amount))
            given, result = spoken_number(amount), spoken_number(value)
            return Answer(f"{given} degrees {source.capitalize()} is {result} "
                          f"degrees {target.capitalize()}.", "units")  # fmt: skip
        value = amount * _UNITS[source][1] / _UNITS[target][1]
        given = (
            f"{spoken} {source}" if spoken else f"{spoken_number(amount)} {_plural(source, amount)}"
        )
        said = f"{spoken_number(value)} {_plural(target, value)}"
        if target == "foot" and source not in ("foot", "inch") and 1 <= value < 10:
            feet, inches = divmod(round(value * 12), 12)  # "5.906 feet, 5 feet 11 inches"
            said += f", or {feet} {_plural('foot', feet)}"
            said += f" {inches} {_plural('inch', inches)}" if inches else ""
        return Answer(f"{given} is {said}.", "units")
    return None


def _weighed(
    amount: float, spoken: str | None, source: str, target: str, ingredient: str | None
) -> Answer | None:
    """A volume of an ingredient as a weight, or a weight as a volume, by the chart."""
    dimensions = {_UNITS[source][0], _UNITS[target][0]}
    if ingredient is None or dimensions != {"volume", "mass"}:
        return None
    kg_per_liter = _GRAMS_PER_CUP[ingredient] / 1000 / _UNITS["cup"][1]
    value = amount * _UNITS[source][1] / _UNITS[target][1]
    value *= kg_per_liter if _UNITS[source][0] == "volume" else 1 / kg_per_liter
    value = float(f"{value:.3g}")  # the chart's figures are not exact to four
    given = f"{spoken} {source}" if spoken else f"{spoken_number(amount)} {_plural(source, amount)}"
    said = f"{spoken_number(value)} {_plural(target, value)}"
    return Answer(f"{given} of {ingredient} is about {said}.", "units")


def scaled(text: str) -> Answer | None:
    """ "half of 3 quarters of a cup" → "… is 3 eighths of a cup, or 6 tablespoons."."""
    hit = _SHARE.match(text)
    unit = _unit(hit["unit"]) if hit is not None else None
    if hit is None or unit is None or _UNITS[unit][0] == "temperature":
        return None
    amount = _AMOUNTS[hit["amount"]] if hit["amount"] else _quantity(hit["n"])
    value = amount * _SHARES[hit["share"]]
    said = _fraction_of(value, unit)
    smaller, per = _SMALLER.get(unit, (unit, 1))
    if smaller != unit and value < 1 and (value * per * 2).is_integer():
        said += f", or {_fraction_of(value * per, smaller)}"
    share = hit["share"] if _SHARES[hit["share"]] > 1 else f"{hit['share']} of"
    return Answer(f"{share} {_fraction_of(amount, unit)} is {said}.", "units")


_FRACTION_WORDS = {2: ("half", "halves"), 3: ("third", "thirds"), 4: ("quarter", "quarters"),
                   8: ("eighth", "eighths")}  # fmt: skip


def _fraction_of(value: float, unit: str) -> str:
    """An amount as a recipe says it: "3 eighths of a cup", "1 and a half cups"."""
    exact = Fraction(value).limit_denominator(8)
    if abs(float(exact) - value) > 1e-9 or exact.denominator not in _FRACTION_WORDS:
        return f"{spoken_number(value)} {_plural(unit, value)}"
    whole, part = divmod(exact.numerator, exact.denominator)
    if part == 0:
        return f"{whole} {_plural(unit, whole)}"
    one, many = _FRACTION_WORDS[exact.denominator]
    piece = f"{'an' if one[0] in 'aeiou' else 'a'} {one}" if part == 1 else f"{part} {many}"
    if whole:
        return f"{whole} and {piece} {_plural(unit, 2)}"
    article = "an" if unit[0] in "aeiou" else "a"
    return f"half {article} {unit}" if piece == "a half" else f"{piece} of {article} {unit}"


def _plural(unit: str, amount: float) -> str:
    """ "feet", "inches", "miles per hour" (the head counts)."""
    if amount == 1:
        return unit
    head, per, tail = unit.partition(" per ")
    return {"foot": "feet", "inch": "inches"}.get(head, head + "s") + per + tail
