"""Number words to digits: "twenty three" → "23", "one hundred and five" → "105"."""

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
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}


def _is_number_word(word: str) -> bool:
    return word in _UNITS or word in _TENS or word in _SCALES


def normalise_numbers(words: list[str]) -> list[str]:
    """Replace each run of number words with its value in digits."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if not _is_number_word(words[i]) or words[i] in _SCALES:
            out.append(words[i])
            i += 1
            continue
        total = current = 0
        j = i
        while j < len(words):
            word = words[j]
            if (
                word == "and"
                and j + 1 < len(words)
                and _is_number_word(words[j + 1])
                and total + current
            ):
                j += 1
                continue
            if word in _UNITS:
                current += _UNITS[word]
            elif word in _TENS:
                current += _TENS[word]
            elif word == "hundred":
                current = max(current, 1) * 100
            elif word in _SCALES:
                total += max(current, 1) * _SCALES[word]
                current = 0
            else:
                break
            j += 1
        out.append(str(total + current))
        i = j
    return out
