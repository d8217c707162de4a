"""Compile the pattern rules into a JSGF grammar for pocketsphinx (ASR tier 1).

A closed grammar maps any speech onto *some* command. To reject out-of-grammar speech the
grammar offers a second branch, a loop over common English words: speech that is not a
command decodes as filler, whose transcript then matches no rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sage.patterns.rules import ANY_WORDS, Rule, tokenize

_LOGGER = logging.getLogger(__name__)

FILLER_WORDS = (
    "a about after again all also am an and any are as ask at away back bad be because been "
    "before best big book but buy by call can car city come could day did do does don't down "
    "eat even every far find first five for four from get give go going good great had has "
    "have he help her here him his home house how i i'm if in into is it its just keep kind "
    "know last left let life like little long look lot made make man many may me mean more "
    "most much music my name need never new next nice no not now number of off on one "
    "only or other out over part people place play put read really right room said "
    "same say school see set she shop should show so some start still story such take talk "
    "tell than that the their them then there these they thing think this those three through "
    "to today too two under up us use very want was water way we weather week well went were "
    "what when where which while who why will with word work world would write year yes you "
    "your capital country tall who's weather wrote turn light"
).split()


MIN_FILLER_LETTERS = 3
"""Short filler words ("go", "up") out-score short commands ("hello", "stop"); speech the
shorter filler would have absorbed is caught by the unexplained-speech check instead."""


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
        elif tok == ANY_WORDS:
            return None  # free text: matched on whisper's transcript instead
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
    for rule in (r for r in rules if not r.whisper_only):
        for template in rule.templates:
            expansion = _expansion(rule, template, known)
            if expansion is not None:
                commands.append(f"( {expansion} )")
    filler = [w for w in FILLER_WORDS if known(w) and len(w) >= MIN_FILLER_LETTERS]
    lines = [
        "#JSGF V1.0;",
        "grammar sage;",
        "public <utterance> = <command> | <filler>+;",
        "<command> = " + " | ".join(commands or ["<VOID>"]) + ";",
        "<filler> = " + " | ".join(filler) + ";",
    ]
    return "\n".join(lines) + "\n"
