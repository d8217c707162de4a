"""Lists kept by voice: "add milk and eggs to my shopping list", "what's on my shopping
list?", "take milk off the list", "is bread on my shopping list?", "clear my to-do list".
"Remember to buy milk" goes on the to-do list, as one thing.

The shopping list is the one meant when none is named ("add milk to the list"); "grocery
list" is another name for it. Lists are kept in the state folder (``lists.json``, written
atomically) and read again for every request, so the daemon and a one-shot ``sage ask``
see the same lists. An unreadable file is kept aside as ``lists.json.corrupt`` (its lists
are not lost) and SAGE starts with none. Calendars and notes go on to ``no_lists``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sage.fsutil import JsonFile
from sage.patterns.matcher import ASKING, normalise, said_back, spoken_list, with_article

_LIST = r"(?:my |the |our )?(?:(?P<name>[a-z][a-z ]*?) )?list"
_ADD = re.compile(rf"{ASKING}(?:add|put) (?P<items>.+?) (?:to|on|onto) {_LIST}(?: please)?$")
_REMOVE = re.compile(
    rf"{ASKING}(?:remove|delete|take|cross|scratch) (?P<items>.+?) (?:off|from|off of) {_LIST}"
    r"(?: please)?$"
)
_READ = re.compile(
    rf"(?:^(?:what's|what is|whats|what do i have) on|{ASKING}(?:read|tell me)(?: me)?) {_LIST}$"
)
_TO_DO = re.compile(rf"{ASKING}(?:remember|don't let me forget) to (?P<task>.+?)(?: please)?$")
"""A thing to do, said with no time: "remember to buy milk" (a reminder needs a time)."""
_HAS = re.compile(rf"^(?:is|are) (?P<items>.+?) on {_LIST}$")
_CLEAR = re.compile(rf"{ASKING}(?:clear|empty|delete|erase) {_LIST}(?: please)?$")
_WHICH = re.compile(r"^(?:what|which) lists (?:do i have|have i got|are there)$")
_MY_LIST = re.compile(r"^(?!how |why )(?:.* )?(?:my|our) (?:[a-z]+ )?list\b")
"""Something else said of one's own list, heard wrongly perhaps ("and no can eggs to my
shopping list"): asked again rather than left to a model, which claimed an answer."""
_NAMES = {"shopping": "shopping", "grocery": "shopping", "groceries": "shopping",
          "to do": "to-do", "todo": "to-do", "to-do": "to-do"}  # fmt: skip
"""Spoken names of a list → the name it is kept under."""
MAX_ITEMS = 100
"""Items one list may hold."""


class Lists:
    """Named lists of things, kept in ``path``."""

    def __init__(self, path: Path) -> None:
        self._file: JsonFile[dict[str, list[str]]] = JsonFile(path, dict)

    def answer(self, text: str) -> str | None:
        """The reply if ``text`` adds to, reads, checks or clears a list."""
        # normalised, but with the commas that separate things ("milk, eggs and bread")
        said = ", ".join(filter(None, (normalise(part) for part in text.split(","))))
        if _WHICH.match(said):
            names = sorted(self._load())
            if not names:
                return "You don't have any lists yet."
            return f"You have {spoken_list([f'{with_article(name)} list' for name in names])}."
        for pattern, act in ((_ADD, self._add), (_REMOVE, self._remove), (_HAS, self._has)):
            if hit := pattern.match(said):
                return act(_list_name(hit), _items(hit["items"]))
        if hit := _TO_DO.match(said):
            return self._add("to-do", [said_back(hit["task"])])
        if hit := _READ.match(said):
            return self._read(_list_name(hit))
        if hit := _CLEAR.match(said):
            return self._clear(_list_name(hit))
        if _MY_LIST.match(said):
            return ("I didn't catch what to do with your list. Say, for example: add milk to "
                    "my shopping list, or what's on my shopping list?")  # fmt: skip
        return None

    def _add(self, name: str, items: list[str]) -> str:
        lists = self._load()
        kept = lists.setdefault(name, [])
        new = [item for item in dict.fromkeys(items) if item not in kept]
        if not new:
            return f"Your {name} list already has {spoken_list(items)}."
        if len(kept) + len(new) > MAX_ITEMS:
            return f"Your {name} list is full: it holds {MAX_ITEMS} things."
        kept.extend(new)
        return self._saved(lists, f"Okay, I've added {spoken_list(new)} to your {name} list.")

    def _remove(self, name: str, items: list[str]) -> str:
        lists = self._load()
        kept = lists.get(name, [])
        gone = [item for item in items if item in kept]
        if not gone:
            return f"Your {name} list doesn't have {spoken_list(items)}."
        lists[name] = [item for item in kept if item not in gone]
        return self._saved(lists, f"Okay, I've taken {spoken_list(gone)} off your {name} list.")

    def _has(self, name: str, items: list[str]) -> str:
        kept = self._load().get(name, [])
        missing = [item for item in items if item not in kept]
        if not missing:
            return f"Yes, your {name} list has {spoken_list(items)}."
        return f"No, your {name} list doesn't have {spoken_list(missing)}."

    def _read(self, name: str) -> str:
        kept = self._load().get(name, [])
        if not kept:
            return f"Your {name} list is empty."
        count = "1 thing" if len(kept) == 1 else f"{len(kept)} things"
        return f"Your {name} list has {count}: {spoken_list(kept)}."

    def _clear(self, name: str) -> str:
        lists = self._load()
        if not lists.pop(name, None):
            return f"Your {name} list is already empty."
        return self._saved(lists, f"Okay, your {name} list is empty now.")

    def _load(self) -> dict[str, list[str]]:
        return self._file.load(_lists)

    def _saved(self, lists: dict[str, list[str]], reply: str) -> str:
        if not self._file.save(lists):
            return "Sorry, I couldn't save your lists: the state folder is not writable."
        return reply


def _lists(data: Any) -> dict[str, list[str]]:
    """The file's lists (ValueError when it holds something else)."""
    if not isinstance(data, dict) or not all(
        isinstance(items, list) and all(isinstance(item, str) for item in items)
        for items in data.values()
    ):
        raise ValueError("not a table of lists of words")
    return data


def _list_name(hit: re.Match[str]) -> str:
    """ "shopping" for "my grocery list" and for "the list"."""
    name = hit["name"] or "shopping"
    return _NAMES.get(name, name)


def _items(said: str) -> list[str]:
    """ "milk, eggs and some bread" → ["milk", "eggs", "some bread"], as said back."""
    parts = re.split(r",? and |, | & ", said_back(said))
    return [part.strip() for part in parts if part.strip()]
