"""DREAM's distillation, as units of a :class:`~sage.dream.dreamer.Dreamer` run:

1. one unit per selected (held-out, repeated) experience: the teacher (the base model,
   with the domain's modifier where one was promoted, a careful prompt and a larger
   answer budget) answers it again; turns that were not language-model turns carry no
   lesson, and answers that contradict the exact arithmetic / unit / date path are
   dropped;
2. per student, one unit trains its LoRA adapter on its lessons (it yields when someone
   speaks; a resumed run trains again from the start) and one unit gates it.

The students (:class:`Student`) are planned when the run starts, from its selection:

- **the draft** learns every lesson, so that it predicts the base better (speculation
  and the draft tier): it distils the teacher's next-token distribution over each careful
  answer, taken under the draft's own prompt (the one the base verifies speculation
  under), top :data:`DISTIL_TOP_K` per position, stored with the lesson at relabelling;
  its gate figure is the share of its proposals the teacher keeps when it speculates
  with the draft, as the cascade does, with the speed of that decoding against the
  teacher alone (a draft with other token ids cannot speculate: teacher-forced agreement
  on its answers instead);
- **a domain modifier** (a LoRA adapter on the base for "code", "math", ...) learns the
  lessons of its domain where the base was unsure when it answered (its uncertainty was
  beyond the cascade's escalation thresholds), planned when the selection has at least
  two such turns to train on and one held out (``[dream] modifiers`` per night at most,
  the domains with the most such turns first); its gate figure is the base's mean NLL
  of the careful answers on the held-out slice (lower: more sure of them).

The gate scores the student with its current adapter and with the candidate on its
validation lessons and the fixed regression suite, and promotes the candidate only if
:func:`~sage.dream.gate.decide` says so: an atomic rename over the student's adapter file
(``draft.gguf`` or ``<domain>.gguf`` in the adapters directory), the previous adapter
kept as ``<name>.gguf.prev`` for :func:`rollback`. A promotion then raises the trust of
the student's tier in each context class of its held-out lessons by the measured gain
(``after − before`` acceptance or agreement, or the relative drop in NLL), capped at 1.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sage.cascade import deterministic
from sage.cascade.adapters import DOMAINS, adapter_for, adapters_dir, draft_adapter
from sage.cascade.calibration import load_questions
from sage.cascade.cascade import with_notes
from sage.cascade.chat import ChatModel, vocabulary_digest
from sage.cascade.sentences import split_sentences
from sage.cascade.speculation import DraftProposer
from sage.catalog import ModelCache
from sage.config import Config
from sage.dream.dreamer import Yielded
from sage.dream.gate import Scores, decide, gain, score, speculate, teacher_targets
from sage.dream.train import Example, Targets, train_lora
from sage.fsutil import fsync_dir
from sage.trust.store import Store

_LOGGER = logging.getLogger(__name__)

CAREFUL = " Take your time: answer precisely and correctly, as briefly as the question allows."
TEACHER_TOKENS = 160
DISTIL_TOP_K = 8
"""The teacher's most likely next tokens kept per answer position for the draft to distil."""
MODIFIER_LESSONS = 2
"""Unsure base turns of a domain needed (besides one held out) to train its modifier."""


@dataclass(frozen=True)
class Student:
    """A model DREAM teaches (module docstring)."""

    name: str
    """"draft", or the domain of a modifier."""
    role: str
    """Catalog role of the model that is trained."""
    tier: str
    """The cascade tier whose trust a promotion raises."""
    metric: str
    """The gate figure: "acceptance" (or "agreement" where the draft cannot speculate for
    the teacher) or "nll"."""

    @staticmethod
    def named(name: str, config: Config) -> Student:
        if name == "draft":
            return Student(name, config.dream.student_role, "draft", "acceptance")
        return Student(name, config.dream.teacher_role, "modifier", "nll")

    def adapter(self, config: Config) -> Path:
        """Where the promoted adapter lives (the cascade loads it from there)."""
        if self.name == "draft":
            return draft_adapter(config)
        return adapters_dir(config) / f"{self.name}.gguf"

    def learns(self, lesson: dict[str, Any]) -> bool:
        return self.name == "draft" or (lesson["domain"] == self.name and lesson["unsure"])

    @property
    def distils(self) -> bool:
        """The draft learns the teacher's distribution; a modifier, its careful answers."""
        return self.name == "draft"


class Distill:
    """Relabel → (train → gate) per student, one unit at a time."""

    def __init__(self, config: Config, models: ModelCache, store: Store,
                 should_yield: Callable[[], bool]) -> None:  # fmt: skip
        self.config = config
        self._models = models
        self._store = store
        self._should_yield = should_yield
        self._teacher: ChatModel | None = None
        self._distillable: bool | None = None

    def units(self, report: dict[str, Any]) -> int:
        if "students" not in report:
            report["students"] = {name: {} for name in self._plan(report)}
        return len(_to_relabel(report)) + 2 * len(report["students"])

    def label(self, unit: int, report: dict[str, Any]) -> str:
        step, name = _step(unit, report)
        if step == "relabel":
            return f"relabel {unit + 1}/{len(_to_relabel(report))}"
        return f"{step} {name}"

    def do(self, unit: int, report: dict[str, Any]) -> None:
        step, name = _step(unit, report)
        if step == "relabel":
            self._relabel(*_to_relabel(report)[unit], report)
            return
        self.close()  # the teacher's memory goes back before torch takes its own
        student, result = Student.named(name, self.config), report["students"][name]
        if step == "train":
            self._train(student, report, result)
        else:
            self._gate(student, report, result)

    def close(self) -> None:
        if self._teacher is not None:
            self._teacher.close()
            self._teacher = None

    def _plan(self, report: dict[str, Any]) -> list[str]:
        """The draft, and a modifier for each domain with enough unsure base turns."""
        counts: dict[tuple[str, str], int] = {}
        for slice_ in ("selected", "held_out"):
            for experience_id in report[slice_]:
                row = self._store.experience(experience_id)
                if row is not None and self._base_was_unsure(row):
                    key = (row["domain"], slice_)
                    counts[key] = counts.get(key, 0) + 1
        domains = [
            d for d in DOMAINS
            if counts.get((d, "selected"), 0) >= MODIFIER_LESSONS and counts.get((d, "held_out"))
        ]  # fmt: skip
        domains.sort(key=lambda d: -counts[(d, "selected")])
        return ["draft", *domains[: self.config.dream.modifiers]]

    def _base_was_unsure(self, row: dict[str, Any]) -> bool:
        if row["route"] != "llm" or row["tier"] not in ("base", "modifier"):
            return False
        u = json.loads(row["uncertainty"] or "{}")
        return bool(u) and self.config.cascade.is_unsure(u["tokens"], u["low_prob"], u["mean_nll"])

    def _path(self, role: str) -> Path:
        return self._models.path(self.config.role(role).model)

    def _open(
        self, role: str, name: str, all_logits: bool = False, draft: ChatModel | None = None
    ) -> ChatModel:
        """A role's model as the registry describes it (DREAM's own thread count), with
        ``draft`` proposing tokens as the cascade's draft does, if given."""
        spec = self.config.role(role)
        proposer = DraftProposer(draft.llm, self.config.cascade.draft_tokens) if draft else None
        return ChatModel(self._path(role), spec.n_ctx, self.config.dream.threads, role=name,
                         all_logits=all_logits, draft=proposer)  # fmt: skip

    def _messages(self, text: str, careful: bool = False) -> list[dict[str, str]]:
        system = self.config.llm.system_prompt + (CAREFUL if careful else "")
        return [{"role": "system", "content": system}, {"role": "user", "content": text}]

    def _relabel(self, experience_id: int, slice_: str, report: dict[str, Any]) -> None:
        row = self._store.experience(experience_id)
        if row is None or row["route"] != "llm" or row["error"]:
            _count_drop(report, "not a language-model turn")
            return
        if self._teacher is None:
            self._teacher = self._open(self.config.dream.teacher_role, "teacher", all_logits=True)
        # The teacher answers as the cascade's best tier would: with the domain's modifier.
        self._teacher.use_adapter(adapter_for(adapters_dir(self.config), row["domain"]))
        text, when = row["transcript"], datetime.fromtimestamp(row["at"])
        asked = with_notes(text, when)  # as the cascade asked it (a note of the date)
        answer = " ".join(
            list(split_sentences(self._teach(asked)))[: self.config.cascade.max_sentences]
        )
        exact = deterministic.answer(text, when)
        if exact is not None and not _agrees(exact.reply, answer):
            _count_drop(report, "failed the exact check")
            return
        lessons = report.setdefault("lessons", {})
        lesson = {"prompt": asked, "answer": answer, "domain": row["domain"],
                  "context": row["context"], "unsure": self._base_was_unsure(row)}  # fmt: skip
        if self._distillable_draft():
            targets = teacher_targets(self._teacher, self._messages(asked), answer, DISTIL_TOP_K)
            lesson["targets"] = asdict(targets)
        lessons.setdefault(slice_, []).append(lesson)

    def _distillable_draft(self) -> bool:
        """Whether the draft shares the teacher's token ids (else it learns the answers)."""
        if self._distillable is None:
            dream = self.config.dream
            student, teacher = self._path(dream.student_role), self._path(dream.teacher_role)
            self._distillable = vocabulary_digest(student) == vocabulary_digest(teacher)
            if not self._distillable:
                _LOGGER.info(
                    "the draft and the teacher tokenise differently: the draft "
                    "learns the careful answers, not the teacher's distributions"
                )
        return self._distillable

    def _teach(self, text: str) -> Iterator[str]:
        """The teacher's answer, token by token; someone speaking stops it at once."""
        assert self._teacher is not None
        for piece, _ in self._teacher.stream(self._messages(text, True), TEACHER_TOKENS):
            if self._should_yield():
                raise Yielded("relabel")
            yield piece

    def _lessons(
        self, student: Student, report: dict[str, Any], slice_: str
    ) -> list[dict[str, Any]]:
        return [e for e in report.get("lessons", {}).get(slice_, []) if student.learns(e)]

    def _examples(self, student: Student, report: dict[str, Any], slice_: str) -> list[Example]:
        """The student's lessons of a slice (a report from before distillation has no
        targets: the draft then learns the answers themselves)."""
        examples = []
        for lesson in self._lessons(student, report, slice_):
            soft = lesson.get("targets") if student.distils else None
            targets = Targets(**soft) if soft else None
            examples.append(Example(self._messages(lesson["prompt"]), lesson["answer"], targets))
        return examples

    def _train(self, student: Student, report: dict[str, Any], result: dict[str, Any]) -> None:
        examples = self._examples(student, report, "train")
        if len(examples) < 2 or not self._examples(student, report, "held_out"):
            result["decision"] = {"promoted": False,
                                  "why": "too few language-model turns to learn from"}  # fmt: skip
            return
        dream = self.config.dream
        candidate = self._candidate(student, report)
        steps, rate = ((dream.distil_steps, dream.distil_learning_rate) if student.distils
                       else (dream.steps, dream.learning_rate))  # fmt: skip
        _LOGGER.info("training the %s adapter on %d lessons", student.name, len(examples))
        trained = train_lora(
            self._path(student.role), examples, candidate, steps=steps, rank=dream.rank,
            learning_rate=rate, threads=dream.threads, should_yield=self._should_yield,
        )  # fmt: skip
        if not trained.completed:
            raise Yielded("training")
        result["training"] = asdict(trained)

    def _candidate(self, student: Student, report: dict[str, Any]) -> Path:
        directory = self.config.paths.state_dir / "dream"
        directory.mkdir(parents=True, exist_ok=True)
        return directory / f"candidate-{report['run']}-{student.name}.gguf"

    def _gate(self, student: Student, report: dict[str, Any], result: dict[str, Any]) -> None:
        candidate = self._candidate(student, report)
        if "decision" in result or not candidate.exists():
            return
        dream = self.config.dream
        questions = load_questions()[: dream.regression_questions]
        held_out = self._examples(student, report, "held_out")
        repeats = self._examples(student, report, "repeats")
        model = self._open(student.role, student.name, all_logits=True)
        current = student.adapter(self.config)
        adapters = (current if current.exists() else None, candidate)
        try:
            model.use_adapter(adapters[0])
            system = self.config.llm.system_prompt
            before, said = score(model, held_out, repeats, system, questions, self._should_yield)
            model.use_adapter(candidate)
            after, says = score(model, held_out, repeats, system, questions, self._should_yield)
        finally:
            model.close()
        metric = student.metric
        if metric == "acceptance" and self._distillable_draft():
            before, after = self._speculate(student, (before, after), adapters, held_out, repeats)
        elif metric == "acceptance":  # other token ids: it cannot speculate for the teacher
            metric = "agreement"
        promoted, why = decide(before, after, dream.margin, metric)
        result["scores"] = {"metric": metric, "before": before.as_dict(), "after": after.as_dict()}
        result["regression_answers"] = [  # the evidence behind checks and collapse
            {"question": q.text, "before": a, "after": b}
            for q, a, b in zip(questions, said, says, strict=True)
        ]
        result["decision"] = {"promoted": promoted, "why": why}
        _LOGGER.info("DREAM %s the %s adapter: %s", "promoted" if promoted else "rejected",
                     student.name, why)  # fmt: skip
        if promoted:
            self.promote(student, report, gain(before, after, metric))
        else:  # kept (only the last one) for a look at what was rejected
            os.replace(candidate, candidate.with_name(f"rejected-{student.name}.gguf"))

    def _speculate(
        self,
        student: Student,
        scores: tuple[Scores, Scores],
        adapters: tuple[Path | None, Path],
        held_out: list[Example],
        repeats: list[Example],
    ) -> tuple[Scores, Scores]:
        """The scores with the teacher speculating with the draft under each adapter
        (:func:`~sage.dream.gate.speculate`); the draft proposes without every logits row."""
        draft = self._open(student.role, "draft")
        teacher = self._open(self.config.dream.teacher_role, "teacher", draft=draft)
        try:
            before, after = speculate(teacher, draft, list(zip(adapters, scores, strict=True)),
                                      held_out, repeats, self._should_yield)  # fmt: skip
        finally:
            teacher.close()
            draft.close()
        return before, after

    def promote(self, student: Student, report: dict[str, Any], gain: float) -> None:
        """Swap the student's candidate in, and raise its tier's trust by ``gain`` in the
        context classes of its validation lessons (held out and repeats)."""
        promote(self._candidate(student, report), student.adapter(self.config))
        validated = [*self._lessons(student, report, "held_out"),
                     *self._lessons(student, report, "repeats")]  # fmt: skip
        contexts = sorted({e["context"] for e in validated})
        for context in contexts:
            self._store.raise_trust(context, student.tier, gain, time.time())
        report["students"][student.name]["trust_raised"] = {
            "tier": student.tier, "contexts": contexts, "by": round(gain, 4)
        }  # fmt: skip


def _step(unit: int, report: dict[str, Any]) -> tuple[str, str]:
    """("relabel", "") for a relabelling unit, else ("train" | "gate", student name)."""
    after = unit - len(_to_relabel(report))
    if after < 0:
        return "relabel", ""
    return ("train" if after % 2 == 0 else "gate"), list(report["students"])[after // 2]


def _count_drop(report: dict[str, Any], why: str) -> None:
    dropped = report.setdefault("dropped", {})
    dropped[why] = dropped.get(why, 0) + 1


def _to_relabel(report: dict[str, Any]) -> list[tuple[int, str]]:
    """(experience id, lesson slice) in relabelling order: training, held out, repeats
    (reports of runs before the repeat slice existed have none)."""
    return ([(i, "train") for i in report["selected"]]
            + [(i, "held_out") for i in report["held_out"]]
            + [(i, "repeats") for i in report.get("repeats", [])])  # fmt: skip


def _agrees(exact: str, answer: str) -> bool:
    """Every number of the exact reply appears in the answer."""
    numbers = re.findall(r"\d+(?:\.\d+)?", exact.replace(",", ""))
    return all(n in answer.replace(",", "") for n in numbers)


def readable(run: dict[str, Any]) -> dict[str, Any]:
    """A stored run as people read it: the lessons' teacher distributions left out."""
    report = run.get("report", {})
    lessons = {
        slice_: [{k: v for k, v in lesson.items() if k != "targets"} for lesson in items]
        for slice_, items in report.get("lessons", {}).items()
    }
    return {**run, "report": {**report, "lessons": lessons}} if lessons else run


def promote(candidate: Path, current: Path) -> None:
    """Atomically make ``candidate`` the adapter in use; the previous one is kept."""
    current.parent.mkdir(parents=True, exist_ok=True)
    if current.exists():
        os.replace(current, current.with_name(current.name + ".prev"))
    os.replace(candidate, current)
    fsync_dir(current.parent)


def rollback(config: Config, name: str = "draft") -> str:
    """Put a student's previous adapter back (or none, if its first promotion is rolled
    back): ``name`` is "draft" or a modifier's domain."""
    if name != "draft" and name not in DOMAINS:
        raise ValueError(f"no student named {name!r}: draft or one of {', '.join(DOMAINS)}")
    current = Student.named(name, config).adapter(config)
    previous = current.with_name(current.name + ".prev")
    if previous.exists():
        os.replace(previous, current)
        fsync_dir(current.parent)
        return f"restored the previous adapter {current}"
    if current.exists():
        rejected = current.with_name(f"{current.name}.rolled-back-{int(time.time())}")
        os.replace(current, rejected)
        return f"no previous {name} adapter; it runs without one ({rejected.name} kept)"
    return "nothing to roll back: no adapter has been promoted"
