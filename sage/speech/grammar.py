"""Compile the pattern rules into a JSGF grammar for pocketsphinx (ASR tier 1).

A closed grammar maps any speech onto *some* command. To reject out-of-grammar speech the
grammar offers a second branch, a loop over common English words: speech that is not a
command decodes as filler, whose transcript then matches no rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sage.patterns.rules import Rule, tokenize

_LOGGER = logging.getLogger(__name__)

FILLER_WORDS = (
    "a about after all also an and any are as at back be because but by can come could "
    "day do even first for from get give go good have he her him his how i if in into is "
    "it just know like look make me more my new no not now of on one only or other our "
    "out over people say see she so some take than that the their them then there these "
    "they think this time to two up us use want way we well what when which who will with "
    "work would year you your weather nice today city capital tell story why where much"
).split()


def _expansion(rule: Rule, template: str, known: Callable[[str], bool]) -> str | None:
    parts: list[str] = []
    for tok in tokenize(template, f"rule {rule.name}"):
        if tok.startswith("{"):
            slot = tok[1:-1]
            forms = sorted({f.lower() for v, s in rule.slots[slot].items() for f in (v, *s)})
            usable = [f for f in forms if all(known(w) for w in f.split())]
            if not usable:
                return None
            parts.append("(" + " | ".join(usable) + ")")
        elif tok in "()[]|":
            parts.append(tok)
        elif not known(tok):
            _LOGGER.debug("rule %s: %r is not in the dictionary; template left out", rule.name, tok)
            return None
        else:
            parts.append(tok)
    return " ".join(parts)


def compile_jsgf(rules: list[Rule], known: Callable[[str], bool]) -> str:
    """A JSGF grammar with one public rule: any rule template, or a loop of filler words."""
    commands: list[str] = []
    for rule in rules:
        for template in rule.templates:
            expansion = _expansion(rule, template, known)
            if expansion is not None:
                commands.append(f"( {expansion} )")
    filler = [w for w in FILLER_WORDS if known(w)]
    lines = [
        "#JSGF V1.0;",
        "grammar sage;",
        "public <utterance> = <command> | <filler>+;",
        "<command> = " + " | ".join(commands or ["<VOID>"]) + ";",
        "<filler> = " + " | ".join(filler) + ";",
    ]
    return "\n".join(lines) + "\n"
