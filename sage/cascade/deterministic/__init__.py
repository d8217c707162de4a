"""Tier 0.5: arithmetic, unit conversions, dates and spelling, answered exactly (and a
coin, a die or a random number, drawn for real).

Small parsers over the normalised transcript (number words are digits by then), one
module per kind: ``arithmetic`` (a recursive-descent parser), ``units``, ``dates``,
``words`` (spelling and chance). Nothing is ever passed to ``eval``; anything they do not
cover returns None and goes on to the language models.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import datetime

from sage.cascade.deterministic.answer import Answer
from sage.cascade.deterministic.arithmetic import arithmetic, primality
from sage.cascade.deterministic.dates import dates
from sage.cascade.deterministic.units import convert
from sage.cascade.deterministic.words import chance, spelling
from sage.patterns.matcher import normalise

__all__ = ["Answer", "answer"]

_PREFIX = re.compile(
    r"^(?:hey sage |sage )?(?:please )?(?:(?:what is|what's|whats|how much is|calculate|compute"
    r"|tell me|can you tell me|do you know) )?(?:what )?"
)
_SUFFIX = re.compile(r"(?: please| sage| equal| equals)*$")


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
