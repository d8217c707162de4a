"""Cut a token stream into speakable sentences as soon as each one is complete."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable

# A sentence ends at . ! ? followed by whitespace, unless the dot belongs to a number
# ("3.5") or a common abbreviation ("e.g.", "Dr.").
_END = re.compile(
    r"(?<!\b[A-Z])(?<!\be\.g)(?<!\bi\.e)(?<!\bDr)(?<!\bMr)(?<!\bMrs)(?<!\bvs)[.!?]+[\"')\]]*\s"
)
_CLAUSE = re.compile(r"[,;:]\s")
_MARKUP = re.compile(r"[*_#`>|]+|^\s*[-•]\s+|\[(.*?)\]\(.*?\)", re.MULTILINE)


def clean_for_speech(text: str) -> str:
    """Remove markdown that a voice would read out, collapse whitespace."""
    text = _MARKUP.sub(lambda m: m.group(1) or " ", text)
    return " ".join(text.split())


def split_sentences(
    pieces: Iterable[str], first_clause_words: int = 5
) -> Generator[str, None, None]:
    """Yield each complete sentence as soon as its end arrives, then the rest.

    The first chunk may end early, at a comma after ``first_clause_words`` words: the
    voice can start on "The sky is blue because of scattering," while the rest is still
    being generated (0 turns this off).
    """
    buffer = ""
    first = True
    for piece in pieces:
        buffer += piece
        while (end := _boundary(buffer, first_clause_words if first else 0)) is not None:
            sentence = clean_for_speech(buffer[:end])
            buffer = buffer[end:]
            if sentence:
                first = False
                yield sentence
    rest = clean_for_speech(buffer)
    if rest:
        yield rest


def _boundary(text: str, clause_words: int) -> int | None:
    """Index just past the first sentence end (or first long-enough clause) in ``text``."""
    end = _END.search(text)
    if clause_words:
        for clause in _CLAUSE.finditer(text):
            if end is not None and clause.start() > end.start():
                break
            if len(text[: clause.start()].split()) >= clause_words:
                return clause.end()
    return end.end() if end is not None else None
