"""Spelling, which a model that sees tokens cannot be trusted with, and chance, which
greedy decoding cannot give."""

from __future__ import annotations

import random
import re

from sage.cascade.deterministic.answer import Answer

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


_COIN = re.compile(r"^(?:can you |could you )?(?:flip|toss) a coin$|^heads or tails$")
_DIE = re.compile(r"^(?:can you |could you )?roll (?:a|1|one) (?:die|dice)$")
_RANDOM = re.compile(
    r"^(?:can you |could you )?(?:give me |pick |choose |think of )?(?:me )?a (?:random )?number "
    r"(?:between|from) (?P<low>\d+) (?:and|to) (?P<high>\d+|a hundred|a thousand)$"
)
_HUNDREDS = {"a hundred": 100, "a thousand": 1000}


def chance(text: str, rng: random.Random | None = None) -> Answer | None:
    """A coin, a die or a random number, drawn for real (from ``rng``, by default the
    system's): greedy decoding made the base say "Heads." to every coin flip, and 55 to
    every "pick a number between 1 and 100"."""
    rng = rng or random.SystemRandom()
    if _COIN.match(text):
        return Answer(f"{rng.choice(['Heads', 'Tails'])}.", "chance")
    if _DIE.match(text):
        return Answer(f"You rolled a {rng.randint(1, 6)}.", "chance")
    if hit := _RANDOM.match(text):
        high = _HUNDREDS.get(hit["high"]) or int(hit["high"])
        low, high = sorted((int(hit["low"]), high))
        return Answer(f"{rng.randint(low, high)}.", "chance")
    return None
