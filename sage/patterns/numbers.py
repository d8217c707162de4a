"""Number words to digits: "twenty three" → "23", "one hundred and five" → "105",
"nineteen eighty four" → "1984", "one two three" → "1 2 3"."""

from __future__ import annotations

_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    w: 10 * i
    for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)
}
_SCALES = {"thousand": 1_000, "million": 1_000_000}


def _two_digits(words: list[str], i: int) -> tuple[int, int] | None:
    """A number from 10 to 99 said at ``i`` ("nineteen", "eighty four"): (value, end)."""
    if i < len(words) and words[i] in _UNITS and _UNITS[words[i]] >= 10:
        return _UNITS[words[i]], i + 1
    if i < len(words) and words[i] in _TENS:
        tens = _TENS[words[i]]
        if i + 1 < len(words) and 0 < _UNITS.get(words[i + 1], 0) < 10:
            return tens + _UNITS[words[i + 1]], i + 2
        return tens, i + 1
    return None


def _read(words: list[str], i: int) -> tuple[int, int]:
    """The number said from ``i`` on, and where it ends.

    Words join only as numbers are said: a unit after tens ("twenty three"), anything
    after "hundred" or a scale, "and" only after one of those ("one hundred and five").
    Two two-digit numbers in a row are a year ("nineteen eighty four"); any other
    collision ends the number, so "one two three" is three numbers and "between one and
    ten" keeps its "and".
    """
    total = current = 0
    last = ""  # the previous word: "unit" (0-9), "teen", "tens", "tens+unit", "hundred", "scale"
    j = i
    while j < len(words):
        word = words[j]
        if word == "and" and last in ("hundred", "scale") and j + 1 < len(words):
            if words[j + 1] in _UNITS or words[j + 1] in _TENS:
                j += 1
                continue
            break
        if word in _SCALES and last:
            total += max(current, 1) * _SCALES[word]
            current, last = 0, "scale"
        elif word == "hundred" and last in ("unit", "teen", "tens", "tens+unit") and current < 100:
            current *= 100
            last = "hundred"
        elif word in _TENS and last in ("", "hundred", "scale"):
            current += _TENS[word]
            last = "tens"
        elif word in _UNITS and (
            last in ("", "hundred", "scale") or (last == "tens" and 0 < _UNITS[word] < 10)
        ):
            current += _UNITS[word]
            last = "teen" if _UNITS[word] >= 10 else "unit" if last != "tens" else "tens+unit"
        elif last in ("teen", "tens", "tens+unit") and total == 0 and current >= 10:
            second = _two_digits(words, j)
            if second is not None:  # a year: "nineteen eighty four", "twenty twenty six"
                return current * 100 + second[0], second[1]
            break
        else:
            break
        j += 1
    return total + current, j


def normalise_numbers(words: list[str]) -> list[str]:
    """Replace each number said in words with its value in digits."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i] in _UNITS or words[i] in _TENS:
            value, i = _read(words, i)
            out.append(str(value))
        else:
            out.append(words[i])
            i += 1
    return out
