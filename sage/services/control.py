"""Voice control of systemd units: intents, the allowlist, spoken confirmation, execution.

Every request goes through :meth:`ServiceControl.request`, whether the pattern parser or
a language model proposed it: the unit must be on the allowlist with that verb, a stop or
restart of a critical unit is read back and waits for a clear "yes" (single use, within
``confirm_timeout_s``), and what SAGE then says comes from the executor's real result.
Text of a result is only ever spoken, never parsed for another action. Every request,
confirmation and result is written to the audit table and logged.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sage.config import VERBS, ServicesConfig, UnitConfig
from sage.patterns.matcher import normalise, said_back, spoken_list

_LOGGER = logging.getLogger(__name__)

PAST = {"start": "started", "stop": "stopped", "restart": "restarted"}
# Matched on the normalised transcript (whisper writes "Yes, please." and "Yeah, go ahead.").
YES = re.compile(
    r"^(?:(?:yes|yeah|yep|yup|sure|okay|ok)(?: please| go ahead| do it)?|go ahead|do it"
    r"|confirm(?:ed)?|please do)$"
)
_NO = re.compile(r"^(?:no|nope|cancel|don't|do not|stop it|no thanks|no thank you|never mind"
                 r"|not now|wait)$")  # fmt: skip
_ASKING = r"^\W*(?:(?:please|can you|could you|would you|will you|sage|hey sage|now)\W+)*"
_UNIT_VERBS = r"start|stop|restart|reload|enable|disable|kill|shut ?down|turn off"
_ACTION = re.compile(
    rf"{_ASKING}(?P<verb>{_UNIT_VERBS}|bounce)\s+(?:up\s+)?(?P<name>[\w .@-]+?)\W*$", re.I
)
"""An imperative at the start of the request: "please restart the web server"."""
_ORDER = re.compile(
    rf"{_ASKING}(?P<verb>{_UNIT_VERBS}|run|execute|install|uninstall|update|upgrade|delete"
    r"|remove|erase|wipe|format|open|close|launch|empty|reset|reboot)\s+"
    r"(?P<what>[\w.@/-]+(?:\s+[\w.@/-]+){0,4}?)\W*$", re.I)  # fmt: skip
"""An order to act on something that is no service on the list: "delete all my files",
"install docker", "start the dishwasher" (the base said "you can use the command sage
delete all files")."""
_NOT_AN_OBJECT = re.compile(
    r"^(?:over|again|now|here|up|it|that|this|everything|\w+ing)\b"  # "stop talking"
    r"|\b(?:in|with|using|from|into|by|on|for|to|how|why|what)\b", re.I)  # fmt: skip
"""Not a thing to act on, or a how-to for the models: "remove duplicates from a list"."""
_SERVICE_WORDS = re.compile(r"\b(service|server|daemon|unit)\b|\.(service|socket|timer)\b", re.I)
"""A name that is clearly a service even when it is not on the list (then refused)."""
_STATUS = re.compile(
    r"\b(?:is|are)\s+(?P<name>[\w .@-]+?)\s+(?:running|up|active|working|down|on)\b"
    r"|\bstatus\s+of\s+(?P<name2>[\w .@-]+?)\W*$"
    r"|\bcheck\s+(?:on\s+)?(?P<name3>[\w .@-]+?)\W*$",
    re.I,
)
_RUNNING = re.compile(r"^\W*(?:is|are)\s+(?:the\s+)?(?P<name>[\w.@-]+(?:\s[\w.@-]+)?)"
                      r"\s+(?:running|active)\W*$", re.I)  # fmt: skip
"""A whole question "is postgres running?": about a service even when the name is not a
known one; answered from the list, never by a model inventing the state."""
_NOT_A_SERVICE = frozenset({"it", "that", "this", "he", "she", "they", "we", "you", "i",
                            "everything", "something", "anything"})  # fmt: skip
_WHICH = re.compile(
    r"^\W*(?:(?:what|which) (?:services|units)\b.*\byou\b.*|(?:list|name) (?:the |your )?services)"
    r"\W*$", re.I)  # fmt: skip
"""Which services SAGE may act on: "what services can you control?" (the base said
"music, videos, and more")."""
_ALL_RUNNING = re.compile(
    r"^\W*(?:(?:what|which) services are (?:running|up|down)|are (?:all )?(?:the |my )?services "
    r"(?:running|up)|is everything (?:running|up)|(?:the )?status of (?:all )?(?:the |my )?"
    r"services|check (?:all )?(?:the |my )?services)\W*$", re.I)  # fmt: skip
"""The state of every unit on the list, asked systemd one by one."""
_SYNONYMS = {"bounce": "restart", "shutdown": "stop", "shut down": "stop", "turn off": "stop"}
_PRONOUNS = frozenset({"it", "that", "this", "that one", "this one", "the service",
                       "it again", "that again", "the same one"})  # fmt: skip
RECENT_UNIT_S = 60.0
"""How long "restart it" means the unit last asked about ("is nginx running?"); the read
back of a critical unit still names it before anything runs."""


@dataclass(frozen=True)
class Intent:
    """What someone asked for, before any check."""

    verb: str
    """start, stop, restart, status, or another word that was heard (always refused)."""
    unit: UnitConfig | None
    """The allowlisted unit the spoken name resolved to; None if it is not on the list."""
    spoken: str
    """The name as heard."""
    source: str
    """"pattern" or "llm": who proposed it."""


@dataclass(frozen=True)
class ActionResult:
    """What systemd said."""

    ok: bool
    state: str
    """For status: systemd's ActiveState (active, inactive, failed, ...)."""
    detail: str = ""


class Executor(Protocol):
    """Carries out an allowlisted verb on a unit (systemctl or D-Bus)."""

    def run(self, verb: str, unit: str) -> ActionResult: ...


class SystemctlExecutor:
    """``systemctl`` with an argv list, never a shell; ``sudo -n`` first where configured."""

    def __init__(self, use_sudo: bool, timeout_s: float) -> None:
        self._prefix = ["sudo", "-n"] if use_sudo else []
        self._timeout_s = timeout_s

    def run(self, verb: str, unit: str) -> ActionResult:
        if verb == "status":
            argv = ["systemctl", "show", "--property=ActiveState", "--value", "--", unit]
        else:
            argv = [*self._prefix, "systemctl", "--no-ask-password", verb, "--", unit]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self._timeout_s)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return ActionResult(False, "unknown", str(exc))
        detail = (done.stderr or done.stdout).strip().splitlines()
        if verb == "status":
            state = done.stdout.strip() or "unknown"
            return ActionResult(done.returncode == 0, state, detail[0] if detail else "")
        return ActionResult(done.returncode == 0, "", detail[0] if detail else "")


@dataclass
class _Pending:
    verb: str
    unit: UnitConfig
    deadline: float
    source: str


Audit = Callable[[str, str, str, str, str, str], None]
"""(transcript, source, verb, unit, decision, detail) → the audit table."""


class ServiceControl:
    """Parses, checks, confirms and executes unit requests; returns what to say."""

    def __init__(self, config: ServicesConfig, executor: Executor, audit: Audit | None = None):
        self.config = config
        self._executor = executor
        self._audit = audit
        self._pending: _Pending | None = None
        self._recent: tuple[UnitConfig, float] | None = None
        """The unit last asked about, and when."""
        self._names: dict[str, UnitConfig] = {}
        for unit in config.units:
            for name in (unit.name, unit.short_name, *unit.aliases):
                self._names[_normal(name)] = unit

    def proposal(self, text: str) -> tuple[str, str, list[str]]:
        """System prompt, request and options for a language model to propose an intent.
        The options are every verb on every allowlisted unit, then "none" (the default);
        whatever is picked still goes through :meth:`request`."""
        units = "; ".join(f"{u.name} ({', '.join(u.aliases) or u.short_name})"
                          for u in self.config.units)  # fmt: skip
        options = [f"{verb} {unit.name}" for unit in self.config.units for verb in VERBS]
        example = self.config.units[0].name if self.config.units else "nginx.service"
        system = (
            "You turn a spoken request into at most one action on this home's services.\n"
            f"Services: {units}.\n"
            "Actions: start, stop, restart (also: bounce, kick, reboot it), status (is it "
            "running, up, working).\n"
            f"Examples: 'give {example} a kick' -> restart {example}; "
            f"'is {example} up' -> status {example}; 'what is {example}?' -> none.\n"
            "Answer with exactly one of: " + ", ".join(options) + ", none."
        )
        return system, text, [*options, "none"]

    def proposed(self, text: str, choice: str, now: float) -> str | None:
        """Act on a model's pick from :meth:`proposal` (None for "none")."""
        verb, _, name = choice.partition(" ")
        if not name:
            return None
        return self.request(text, self.intent(verb, name, "llm"), now)

    def mentions_unit(self, text: str) -> bool:
        """The text names an allowlisted unit (the cue to let a model propose an intent)."""
        words = f" {_normal(text)} "
        return any(f" {name} " in words for name in self._names)

    def parse(self, text: str, now: float) -> Intent | None:
        """The pattern path: a unit request in plain words, or None. "It" is the unit
        asked about in the last minute ("is nginx running?" then "restart it")."""
        verb, name = "", ""
        if match := _ACTION.search(text):
            verb, name = match["verb"].lower(), match["name"]
        elif match := _STATUS.search(text):
            verb, name = "status", match["name"] or match["name2"] or match["name3"]
        recent = self._recent
        if name.strip().lower() in _PRONOUNS and recent and now - recent[1] <= RECENT_UNIT_S:
            name = recent[0].short_name
        running = _RUNNING.match(text)
        asked_running = running is not None and running["name"].lower() not in _NOT_A_SERVICE
        if not name or not (
            self.mentions_unit(name) or _SERVICE_WORDS.search(name) or asked_running
        ):
            return None  # "stop talking", "how do I start a fire": not about a service
        return self.intent(_SYNONYMS.get(verb, verb), name, "pattern")

    def intent(self, verb: str, name: str, source: str) -> Intent:
        """An intent for a verb and a spoken name (the parser's or a model's proposal)."""
        return Intent(verb, self._resolve(name), name.strip(), source)

    def _resolve(self, name: str) -> UnitConfig | None:
        """The unit a spoken name means: an exact name or alias, else the longest one
        inside it ("the web server for me please")."""
        spoken = _normal(name)
        if spoken in self._names:
            return self._names[spoken]
        words = f" {spoken} "
        inside = [alias for alias in self._names if f" {alias} " in words]
        return self._names[max(inside, key=len)] if inside else None

    def confirm(self, text: str, now: float) -> str | None:
        """Consume a pending confirmation, if there is one: "yes" in time runs it; "yes"
        too late or "no" does nothing (and says so); anything else cancels it silently and
        is then handled as a request of its own (None)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        verb, unit = pending.verb, pending.unit
        said = normalise(text)
        if YES.match(said):
            if now > pending.deadline:
                self._log(text, pending.source, verb, unit.name, "expired")
                return "That confirmation came too late, so I did nothing."
            self._log(text, pending.source, verb, unit.name, "confirmed")
            return self._execute(text, pending.source, verb, unit)
        self._log(text, pending.source, verb, unit.name, "cancelled")
        return f"Okay, I won't {verb} {unit.short_name}." if _NO.match(said) else None

    def answer(self, text: str, now: float) -> str | None:
        """What to say if ``text`` is a unit request in plain words; else None."""
        if _WHICH.match(text):
            return self._allowlist()
        if _ALL_RUNNING.match(text):
            said = [self.request(text, self.intent("status", u.name, "pattern"), now)
                    for u in self.config.units if "status" in u.verbs]  # fmt: skip
            return " ".join(said) or "I'm not allowed to check any services."
        intent = self.parse(text, now)
        if intent is None:
            return self._refusal(text)
        names = [n for n in re.split(r",\s*|\s+and\s+", intent.spoken) if n.strip()]
        if len(names) > 1 and all(self._resolve(name) for name in names):
            # "restart nginx and ssh": one confirmation and one result at a time
            self._log(text, "pattern", intent.verb, intent.spoken, "refused", "several units")
            return "I act on one service at a time: please ask for each on its own."
        return self.request(text, intent, now)

    def request(self, text: str, intent: Intent, now: float) -> str:
        """Check an intent against the allowlist; read back, or act."""
        unit = intent.unit
        if unit is not None:
            self._recent = (unit, now)
        if unit is None:
            self._log(text, intent.source, intent.verb, intent.spoken, "refused", "not allowlisted")
            verb = "check" if intent.verb == "status" else "control"
            return f"I can't {verb} {intent.spoken}: it isn't on my list of services."
        if intent.verb not in VERBS or intent.verb not in unit.verbs:
            self._log(text, intent.source, intent.verb, unit.name, "refused", "verb not allowed")
            return f"I'm not allowed to {intent.verb} {unit.short_name}."
        if unit.critical and intent.verb in ("stop", "restart"):
            deadline = now + self.config.confirm_timeout_s
            self._pending = _Pending(intent.verb, unit, deadline, intent.source)
            self._log(text, intent.source, intent.verb, unit.name, "confirm_requested")
            return f"{intent.verb.capitalize()} {unit.short_name}? Say yes to confirm."
        return self._execute(text, intent.source, intent.verb, unit)

    def _refusal(self, text: str) -> str | None:
        """ "I can't delete your files." and what is on the list, for an order to act on
        something else; None for anything that is not such an order."""
        order = _ORDER.match(text)
        if order is None or _NOT_AN_OBJECT.search(order["what"]):
            return None
        verb = order["verb"].lower()
        what = said_back(order["what"].rstrip("."))
        self._log(text, "pattern", verb, what, "refused", "not a service")
        return f"I can't {verb} {what}. {self._allowlist()}"

    def _allowlist(self) -> str:
        """ "I can check, start, stop or restart nginx and check ssh." """
        if not self.config.units:
            return "There are no services on my list."
        said = []
        for unit in self.config.units:
            verbs = ["check" if v == "status" else v for v in VERBS if v in unit.verbs]
            said.append(f"{spoken_list(verbs, 'or')} {unit.short_name}")
        return f"I can {spoken_list(said, 'and')}."

    def _execute(self, text: str, source: str, verb: str, unit: UnitConfig) -> str:
        result = self._executor.run(verb, unit.name)
        decision = "executed" if result.ok else "failed"
        self._log(text, source, verb, unit.name, decision, result.state or result.detail)
        if verb == "status":
            if not result.ok:
                reason = (result.detail or "systemctl failed").rstrip(".")
                return f"I couldn't get the status of {unit.short_name}: {reason}."
            running = "running" if result.state == "active" else f"not running ({result.state})"
            return f"{unit.short_name} is {running}."
        if result.ok:
            return f"{unit.short_name} {PAST[verb]}."
        reason = (result.detail or "systemctl failed").rstrip(".")
        return f"I couldn't {verb} {unit.short_name}: {reason}."

    def _log(self, text: str, source: str, verb: str, unit: str, decision: str,
             detail: str = "") -> None:  # fmt: skip
        _LOGGER.info("service request %s %s %s by %s: %s %s", decision, verb, unit, source,
                     text, detail)  # fmt: skip
        if self._audit is not None:
            self._audit(text, source, verb, unit, decision, detail)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w.@-]+", " ", text.lower()).split()).strip(" .")
