"""Cut a token stream into speakable sentences as soon as each one is complete."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Generator, Iterable

# A sentence ends at . ! ? followed by whitespace, unless the dot belongs to a number
# ("3.5"), a common abbreviation ("e.g.", "Dr.") or a list's numbering ("2. Pears"). At the
# end of what has arrived it ends there too, without waiting a token for the whitespace,
# unless a digit or a single letter comes before the dot ("3." may go on as "3.5", "e." as
# "e.g."). A line break ends one too: a poem's lines, a list's items, a song's verses
# (without it a song with no full stop ran on to the token limit as one sentence); not
# after a colon, whose line leads in to what follows (perhaps a code block, not spoken),
# nor at a blank line.
_NOT_ABBREVIATION = r"(?<!\b[A-Z])(?<!\be\.g)(?<!\bi\.e)(?<!\bDr)(?<!\bMr)(?<!\bMrs)(?<!\bvs)"
_NOT_NUMBERING = r"(?<!^\d)(?<!\n\d)(?<!^\d\d)(?<!\n\d\d)"
_END = re.compile(
    _NOT_ABBREVIATION
    + r"(?:"
    + _NOT_NUMBERING
    + r"[.!?]+[\"')\]]*\s|(?<!\d)(?<!\b[a-z])[.!?]+[\"')\]]*$|(?<![:\n])\n)"
)
_CLAUSE = re.compile(r"[,;:]\s")
_CODE_FENCE = "```"
CODE_LEFT_OUT = "The answer goes on in code, which I can't read out well."
"""Said where a code block starts: the listener knows there was more, and a first
clause already spoken ("To check if a number is prime in Python,") is not left hanging."""
_MARKUP = re.compile(r"[*_#`>|]+|^\s*(?:[-•]|\d+[.)])\s+|\[(.*?)\]\(.*?\)", re.MULTILINE)
_PLACEHOLDER = re.compile(r"<([a-zA-Z][\w -]*)>")
"""A placeholder in a command, "git branch <branch-name>": said as "branch name" (the
markup rule left "<branch-name", which the voice read as "less than")."""

_DIALLED = re.compile(r"\b(?:call|dial|ring)\s+\d{3,}(?:(?:,\s*|\s+or\s+|\s+and\s+)\d{3,})*",
                      re.IGNORECASE)  # fmt: skip
"""A number to dial: the voice read "call 911" as "call nine hundred eleven"."""
_DIGITS = re.compile(r"\b\d{3,}\b")
_SPACE_BEFORE_MARK = re.compile(r"\s+([.,!?;:])(?=\s|$)")
"""What removed markup leaves: "use `git branch`." is "use git branch ."."""

_NOT_LATIN = r"[^\x00-\u024F\u2000-\u206F]"
"""A character outside the Latin scripts and general punctuation."""
_OTHER_SCRIPT = re.compile(rf"{_NOT_LATIN}+(?:\s+{_NOT_LATIN}+)*")
_READ_AS = re.compile(
    rf"{_NOT_LATIN}+(?:\s+{_NOT_LATIN}+)*(?P<close>[\"”’']?)\s*\((?P<reading>[^)]*[A-Za-z][^)]*)\)"
)
"""Other-script words followed by their reading in brackets: "Привет" (Privet)."""
_SYLLABLE = re.compile(r"(?<=[a-z])(?=[A-Z])")


def clean_for_speech(text: str) -> str:
    """Remove markdown that a voice would read out, collapse whitespace."""
    text = in_latin_letters(text)
    text = _PLACEHOLDER.sub(lambda m: m.group(1).replace("-", " ").replace("_", " "), text)
    text = _MARKUP.sub(lambda m: m.group(1) or " ", text)
    text = _DIALLED.sub(lambda m: digit_by_digit(m[0]), text)
    return _SPACE_BEFORE_MARK.sub(r"\1", " ".join(text.split()))


def in_latin_letters(text: str) -> str:
    """Words in other scripts as the English voice can say them, which it otherwise skips
    ("In Japanese, thank you is ありがとう." said as "... is arigatou."). A reading the
    model gave in brackets is said instead ("Привет (Privet)" → "Privet")."""
    from anyascii import anyascii

    def latin(run: str) -> str:
        if not any(unicodedata.category(ch).startswith("L") for ch in run):
            return run  # symbols and emoji: left to the voice
        return _SYLLABLE.sub(" ", anyascii(run)).lower()  # "ZaoShangHao" → "zao shang hao"

    text = _READ_AS.sub(lambda m: f"{anyascii(m['reading'])}{m['close']}", text)
    return _OTHER_SCRIPT.sub(lambda m: latin(m[0]), text)


def digit_by_digit(text: str) -> str:
    """Numbers of three digits or more said as they are dialled: "9 1 1"."""
    return _DIGITS.sub(lambda m: " ".join(m[0]), text)


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
        # Code is no use read out: the answer ends at the last sentence before a code
        # block, the unfinished lead-in ("Here's how you can do it:") is dropped, and
        # SAGE says that code followed.
        fence = buffer.find(_CODE_FENCE)
        if fenced := fence >= 0:
            buffer = buffer[:fence]
        clause_words = first_clause_words if first and not fenced else 0
        while (end := _boundary(buffer, clause_words)) is not None:
            sentence = _speech_text(buffer[:end])
            buffer = buffer[end:]
            if sentence:
                first, clause_words = False, 0
                yield sentence
        if fenced:
            yield CODE_LEFT_OUT
            return
    rest = _speech_text(buffer)
    if rest:
        yield rest


def ends_mid_sentence(chunk: str) -> bool:
    """Whether ``chunk`` from :func:`split_sentences` is a first clause, cut at a comma."""
    return chunk.rstrip().endswith((",", ";", ":"))


def _speech_text(text: str) -> str:
    """``text`` for the voice; "" when only punctuation is left (such as the closing quote
    of a sentence that ended before the quote arrived)."""
    text = clean_for_speech(text).lstrip("\"')] ")
    return text if any(c.isalnum() for c in text) else ""


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
