"""What SAGE says about itself: its models, its version, what it keeps, and what it
learned last night, read from its own config, catalog and store.

A language model can only invent these: asked on this machine, the base said "I am
running Sage version 1.1.", "Yes, I record what you say." and "I learned about the
weather."
"""

from __future__ import annotations

import importlib.metadata
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sage.catalog import ModelEntry, load_catalog
from sage.config import Config
from sage.patterns.matcher import normalise
from sage.trust.store import Store

_PREFIX = re.compile(r"^(?:hey sage |sage )?(?:please )?(?:(?:can|could) you tell me )?")
_ASKED = {
    "models": re.compile(
        r"^(?:what|which) (?:language |ai )?models? (?:are you|do you) (?:run|running|use|using)"
        r"|^what (?:model|language model|llm|ai) are you|^what are you running on"
    ),
    "version": re.compile(r"^(?:what|which) version (?:are you|of sage is this|is this)"),
    "data": re.compile(
        r"^(?:do|are|will) you (?:record|recording|store|storing|keep|keeping|save|saving) "
        r"(?:me|what i say|my voice|my data|our conversations?|my conversations?|everything)"
        r"|^where (?:is|do you keep|do you store) my data|^is my data (?:private|safe)"
        r"|^do you send (?:my data|anything|what i say) |^are you (?:private|secure)$"
    ),
    "dream": re.compile(
        r"^what did you (?:learn|dream about) (?:last night|yesterday|overnight)"
        r"|^did you dream(?: last night)?$|^what did you learn in your sleep"
    ),
}


class About:
    """Answers the questions in ``_ASKED`` for one daemon's config and store."""

    def __init__(
        self, config: Config, store: Store | None, catalog: dict[str, ModelEntry] | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.catalog = catalog if catalog is not None else load_catalog()
        """The model catalog the pipeline's ModelCache read (names for "what model …")."""

    def answer(self, text: str) -> str | None:
        """The reply if ``text`` asks SAGE about itself, else None."""
        said = _PREFIX.sub("", normalise(text), count=1)
        replies = {"models": self._models, "version": self._version, "data": self._data,
                   "dream": self._dream}  # fmt: skip
        topic = next((topic for topic, asked in _ASKED.items() if asked.search(said)), None)
        return replies[topic]() if topic is not None else None

    def _models(self) -> str:
        remote, draft = self.config.remote.url, self.config.cascade.draft_role
        base = f"a model on {remote}" if remote else self._name(self.config.llm.role)
        if draft:
            base += f" and, where it's sure enough, the smaller {self._name(draft)}"
        return (f"I answer with {base}. Whisper tiny English hears you and a Piper voice "
                "speaks, all on this machine.")  # fmt: skip

    def _name(self, role: str) -> str:
        """ "Qwen2.5 Coder 1.5B" for the catalog's "Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF"."""
        model = self.config.role(role).model
        entry = self.catalog.get(model)
        name = entry.description.split()[0] if entry is not None else Path(model).stem
        return name.removesuffix("-Instruct").replace("-", " ")

    def _version(self) -> str:
        try:
            return f"I'm SAGE {importlib.metadata.version('sage-voice')}."
        except importlib.metadata.PackageNotFoundError:  # run from a checkout, not installed
            return "I'm SAGE, run from a source folder that records no version."

    def _data(self) -> str:
        remote = self.config.remote.url
        leaves = (f"Questions for the larger model go to {remote}; nothing else I hear leaves"
                  if remote else "Nothing I hear leaves")  # fmt: skip
        return (f"{leaves} this machine, and I keep no recordings. I keep the text of what "
                f"you ask and what I answer in my database in {self.config.paths.state_dir}, "
                "so that I can learn from it at night, and there too the timers, lists and "
                "notes you ask me to keep.")  # fmt: skip

    def _dream(self) -> str:
        runs = self.store.dream_runs(limit=1) if self.store is not None else []
        if not runs:
            at = datetime.strptime(self.config.metabolism.dream_at, "%H:%M")
            spoken = f"{at:%I %p}" if at.minute == 0 else f"{at:%I:%M %p}"
            return f"I haven't dreamed yet: DREAM runs each night at {spoken.lstrip('0')}."
        run, report = runs[0], runs[0]["report"]
        started = datetime.fromtimestamp(run["started_at"])
        when = f"{started:%A, %B} {started.day}"
        if run["status"] != "done":
            return f"My last DREAM run started on {when} and hasn't finished yet."
        said = [f"My last DREAM run, on {when}, studied {len(report.get('selected', []))} "
                "of your questions."]  # fmt: skip
        for name, result in report.get("students", {}).items():
            said.append(_student(name, result))
        return " ".join(said)


def _student(name: str, result: dict[str, Any]) -> str:
    """What one DREAM student came to: promoted (with the draft's gate figure on the
    questions asked again), or not."""
    student = "the draft model" if name == "draft" else f"the {name} modifier"
    if not result.get("decision", {}).get("promoted"):
        return f"It tried to improve {student}, but the new one did not pass my checks."
    scores = result.get("scores", {})
    metric = scores.get("metric", "agreement")
    before = scores.get("before", {}).get(f"repeat_{metric}")
    after = scores.get("after", {}).get(f"repeat_{metric}")
    if name != "draft" or before is None or after is None:
        return f"It improved {student}."
    now = round(after * 100)
    figure = (f"the larger model now keeps {now} percent of the words it suggests on"
              if metric == "acceptance" else
              f"it now agrees with the larger model on {now} percent of")  # fmt: skip
    return (f"It improved {student}: {figure} questions asked again, up from "
            f"{round(before * 100)}.")  # fmt: skip
