"""Notes kept by voice: "remember that my car is on level 3", then "where's my car?"
("You told me your car is on level 3."), "what do you remember?", "forget what I told
you about my car", "delete my notes".

A question about where something of yours is, with no note about it, is answered so
("You haven't told me where your keys are.") rather than left to a language model,
which can only guess. Notes are kept in the state folder (``notes.json``, written
atomically) and read again for every request, so the daemon and a one-shot ``sage ask``
share them; an unreadable file is kept aside as ``notes.json.corrupt``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sage.fsutil import JsonFile
from sage.patterns.matcher import ASKING, normalise, said_back

_REMEMBER = re.compile(
    rf"{ASKING}(?:remember|note|make a note|take a note|keep in mind)"
    r"(?: that (?P<that>.+)| (?P<what>(?:my|the|our|i|i've|i'm|we|we've|we're) .+))$"
)
_WHERE = re.compile(
    r"^(?:where(?:'s| is| are)|where did i (?:put|leave|park)) (?P<whose>my|our|the) (?P<thing>.+?)"
    r"(?: parked)?$"
)
_WHAT = re.compile(r"^(?:what(?:'s| is| are)) (?P<whose>my|our|the) (?P<thing>.+)$")
_ALL = re.compile(
    r"^what (?:do you remember|did i (?:tell|ask) you to remember|notes do i have)$"
    r"|^(?:read|tell me) (?:me )?my notes$"
)
_FORGET = re.compile(
    rf"{ASKING}(?:forget|delete|remove) (?:what i told you|the notes?) about"
    r" (?P<whose>my |our |the )?(?P<thing>.+)$"
)
_FORGET_ALL = re.compile(
    rf"{ASKING}(?:forget|delete|clear|erase)(?: all)? (?:my notes|the notes|your notes"
    r"|everything i told you to remember)$"
)
MAX_NOTES = 200
_UNWRITABLE = "Sorry, I couldn't change your notes: the state folder is not writable."


class Notes:
    """What the household asked SAGE to remember, kept in ``path``."""

    def __init__(self, path: Path) -> None:
        self._file: JsonFile[list[dict[str, Any]]] = JsonFile(path, list)

    def answer(self, text: str, now: float) -> str | None:
        """The reply if ``text`` keeps, recalls or forgets a note."""
        said = normalise(text)
        if hit := _REMEMBER.match(said):
            return self._remember(said_back(_as_said(hit["that"] or hit["what"], text)), now)
        if _ALL.match(said):
            notes = [note["said"] for note in self._load()]
            if not notes:
                return "You haven't asked me to remember anything."
            told = f"You told me {len(notes)} things; the last 5: " if len(notes) > 5 else ""
            return (told or "You told me: ") + "; ".join(notes[-5:]) + "."
        if hit := _WHERE.match(said) or _WHAT.match(said):
            return self._recall(hit, said.startswith("where") and hit["whose"] != "the")
        if hit := _FORGET.match(said):
            return self._forget(said_back(hit["whose"] or "the").strip(), hit["thing"])
        if _FORGET_ALL.match(said):
            if not self._file.save([]):
                return _UNWRITABLE
            return "Okay, I've forgotten everything you asked me to remember."
        return None

    def _remember(self, what: str, now: float) -> str:
        notes = self._load()
        if len(notes) >= MAX_NOTES:
            return f"I keep up to {MAX_NOTES} notes; say delete my notes to start again."
        notes.append({"said": what, "at": now})
        if not self._file.save(notes):
            return _UNWRITABLE
        return f"Okay, I'll remember that {what}."

    def _recall(self, hit: re.Match[str], where_mine: bool) -> str | None:
        thing = hit["thing"]
        about = [note["said"] for note in self._load() if _mentions(note["said"], thing)]
        if about:
            return f"You told me {about[-1]}."
        if not where_mine:
            return None  # "what's my name?", "where is the Eiffel Tower?": others may know
        verb = "are" if thing.endswith("s") else "is"
        return (f"You haven't told me where {said_back(hit['whose'])} {thing} {verb}. Next "
                f"time, tell me: remember that my {thing} {verb}, and the place.")  # fmt: skip

    def _forget(self, whose: str, thing: str) -> str:
        notes = self._load()
        kept = [note for note in notes if not _mentions(note["said"], thing)]
        if len(kept) == len(notes):
            return f"You haven't told me anything about {whose} {thing}."
        if not self._file.save(kept):
            return _UNWRITABLE
        return f"Okay, I've forgotten what you told me about {whose} {thing}."

    def _load(self) -> list[dict[str, Any]]:
        return self._file.load(_notes)


def _notes(data: Any) -> list[dict[str, Any]]:
    """The file's notes (ValueError when it holds something else)."""
    if not isinstance(data, list) or not all(
        isinstance(note, dict) and isinstance(note.get("said"), str) for note in data
    ):
        raise ValueError("not a list of notes")
    return data


def _as_said(words: str, text: str) -> str:
    """``words`` (normalised: lower case) with their capitals as typed or transcribed
    ("Bob is coming on Friday"), where the text still holds them."""
    pattern = r"\W+".join(re.escape(word) for word in words.split())
    found = re.search(pattern, text, re.IGNORECASE)
    return found[0] if found else words


def _mentions(note: str, thing: str) -> bool:
    """The note names the thing ("car" in "your car is on level 3", "keys" in "the spare
    keys are in the drawer"), not merely one of its words: a note about France does not
    answer "what's the capital of France?"."""
    return re.search(rf"\b{re.escape(thing)}\b", note, re.IGNORECASE) is not None
