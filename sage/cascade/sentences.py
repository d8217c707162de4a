"""Cut a token stream into speakable sentences as soon as each one is complete."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# A sentence ends at . ! ? followed by whitespace, unless the dot belongs to a number
# ("3.5") or a common abbreviation ("e.g.", "Dr.").
_END = re.compile(
    r"(?<!\b[A-Z])(?<!\be\.g)(?<!\bi\.e)(?<!\bDr)(?<!\bMr)(?<!\bMrs)(?<!\bvs)[.!?]+[\"')\]]*\s"
)
_MARKUP = re.compile(r"[*_#`>|]+|^\s*[-•]\s+|\[(.*?)\]\(.*?\)", re.MULTILINE)


def clean_for_speech(text: str) -> str:
    """Remove markdown that a voice would read out, collapse whitespace."""
    text = _MARKUP.sub(lambda m: m.group(1) or " ", text)
    return " ".join(text.split())


def split_sentences(pieces: Iterable[str]) -> Iterator[str]:
    """Yield each complete sentence as soon as its end arrives, then the rest."""
    buffer = ""
    for piece in pieces:
        buffer += piece
        while (end := _END.search(buffer)) is not None:
            sentence = clean_for_speech(buffer[: end.end()])
            buffer = buffer[end.end() :]
            if sentence:
                yield sentence
    rest = clean_for_speech(buffer)
    if rest:
        yield rest
