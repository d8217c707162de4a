"""Rule files: a small template language that compiles to a regex and to a JSGF grammar.

A template is plain words plus four forms:

* ``(a | b c)``  alternatives,
* ``[words]``     optional words,
* ``{slot}``      a named slot whose values are listed in the rule's ``slots`` table;
                  the value's synonyms all capture the canonical value,
* ``...``         one or more words of any kind ("remind me ..."). Such a template is
                  matched on transcripts only: the ASR grammar has no free text.

Two keys say how a rule is heard. ``hotwords = false`` keeps its slot values out of
whisper's hotword prompt (``[asr] whisper_hotwords``): ordinary words, which a long
prompt only biases whisper towards (with the foods in it, a telephone-band "capital" was
heard as "macadamia"). ``whisper_only = true`` also leaves it out of the grammar of ASR
tier 1, for long questions that whisper hears well: the cooking rules made the grammar
tier about 50 % slower on every utterance. The pet-food rule stays in the grammar,
which hears "can dogs eat grapes" where whisper once heard "Can dogs eat great?".

Example::

    [[rule]]
    name = "greeting"
    templates = ["(hello | hi | hey) [there]", "good {part}"]
    slots.part = { morning = [], afternoon = [], evening = ["evening", "night"] }
    replies = ["Good {part}!"]
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sage.errors import ConfigError

DEFAULT_RULES = Path(__file__).with_name("default_rules.toml")
_TOKEN = re.compile(r"\(|\)|\[|\]|\||\{[a-z_][a-z0-9_]*\}|\.\.\.|[a-z0-9']+")
ANY_WORDS = "..."


@dataclass(frozen=True)
class Rule:
    """One pattern rule."""

    name: str
    templates: tuple[str, ...]
    replies: tuple[str, ...] = ()
    """Spoken replies; ``{slot}`` fills in a captured value. The first is used."""
    responder: str = ""
    """Name of a built-in responder (time, date, capabilities, ...) instead of replies."""
    slots: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    """slot → canonical value → spoken synonyms (the value itself is always one)."""
    description: str = ""
    """What this rule does, for "what can you do"."""
    hotwords: bool = True
    """Whether the slot values go into whisper's hotword prompt."""
    whisper_only: bool = False
    """Matched on whisper's transcript only: not in the grammar, not in the hotwords."""
    patterns: tuple[re.Pattern[str], ...] = field(default=(), compare=False)
    """One compiled regex per template (see :func:`compile_template`)."""

    def synonyms(self, slot: str) -> dict[str, str]:
        """Spoken form → canonical value for one slot."""
        table: dict[str, str] = {}
        for value, spoken in self.slots[slot].items():
            for form in (value, *spoken):
                table[form.lower()] = value
        return table


def tokenize(template: str, where: str) -> list[str]:
    """Split a template into tokens; ConfigError on any other character."""
    text = template.lower().strip()
    tokens = _TOKEN.findall(text)
    if re.sub(r"\s+", "", text) != "".join(tokens):
        raise ConfigError(f"{where}: template {template!r} has characters outside the syntax")
    return tokens


def compile_template(rule_name: str, template: str, slots: dict[str, Any]) -> re.Pattern[str]:
    """Template → regex over normalised text where every word is followed by one space."""
    where = f"rule {rule_name}"
    out: list[str] = []
    closers: list[str] = []
    for tok in tokenize(template, where):
        if tok in "([":
            out.append("(?:")
            closers.append(")" if tok == "(" else "]")
        elif tok in ")]":
            if not closers or closers.pop() != tok:
                raise ConfigError(f"{where}: unbalanced {tok!r} in {template!r}")
            out.append(")" if tok == ")" else ")?")
        elif tok == "|":
            out.append("|")
        elif tok == ANY_WORDS:
            out.append(r"(?:\S+ )+?")
        elif tok.startswith("{"):
            slot = tok[1:-1]
            if slot not in slots:
                raise ConfigError(f"{where}: slot {{{slot}}} has no values in slots.{slot}")
            forms = {f.lower() for value, spoken in slots[slot].items() for f in (value, *spoken)}
            alts = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
            out.append(f"(?P<{slot}>{alts}) ")
        else:
            out.append(re.escape(tok) + " ")
    if closers:
        raise ConfigError(f"{where}: unclosed group in {template!r}")
    try:
        return re.compile("".join(out))
    except re.error as exc:
        raise ConfigError(f"{where}: template {template!r} does not compile ({exc})") from None


def load_rules(paths: list[Path]) -> list[Rule]:
    """Load rule files in order; a later rule with the same name replaces an earlier one.

    The result is in matching order: a later file's rules come first, so the household's
    own rules answer before the shipped ones (a "lights" rule of theirs before the
    default refusal to switch lights).
    """
    by_name: dict[str, tuple[int, int, Rule]] = {}
    for file_index, path in enumerate(paths):
        try:
            with path.open("rb") as f:
                raw = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"rules file {path}: {exc}") from None
        for i, table in enumerate(raw.get("rule", [])):
            rule = _parse_rule(table, f"{path.name} rule #{i + 1}")
            by_name[rule.name] = (-file_index, i, rule)
    return [rule for _, _, rule in sorted(by_name.values(), key=lambda e: e[:2])]


_KEYS = {
    "name",
    "templates",
    "replies",
    "responder",
    "slots",
    "description",
    "hotwords",
    "whisper_only",
}


def _parse_rule(table: dict[str, Any], where: str) -> Rule:
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]}")
    name = table.get("name")
    templates = table.get("templates")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: name must be a non-empty string")
    if not isinstance(templates, list) or not templates:
        raise ConfigError(f"rule {name}: templates must be a non-empty list")
    if not table.get("replies") and not table.get("responder"):
        raise ConfigError(f"rule {name}: needs replies or a responder")
    for key in ("hotwords", "whisper_only"):
        if not isinstance(table.get(key, False), bool):
            raise ConfigError(f"rule {name}: {key} must be true or false")
    slots = {
        slot: {value: tuple(spoken) for value, spoken in values.items()}
        for slot, values in table.get("slots", {}).items()
    }
    return Rule(
        name=name,
        templates=tuple(templates),
        replies=tuple(table.get("replies", ())),
        responder=table.get("responder", ""),
        slots=slots,
        description=table.get("description", ""),
        hotwords=table.get("hotwords", True) and not table.get("whisper_only", False),
        whisper_only=table.get("whisper_only", False),
        patterns=tuple(compile_template(name, t, slots) for t in templates),
    )
