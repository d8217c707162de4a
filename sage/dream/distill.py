"""DREAM's distillation, as units of a :class:`~sage.dream.dreamer.Dreamer` run:

1. one unit per selected (and held-out) experience: the teacher (the base model, with a
   careful prompt and a larger answer budget) answers it again; turns that were not
   language-model turns carry no lesson, and answers that contradict the exact
   arithmetic / unit / date path are dropped;
2. one unit trains the student's LoRA adapter on the teacher's answers (it yields when
   someone speaks; a resumed run trains again from the start);
3. one unit scores the student with its current adapter and with the candidate on the
   held-out slice and the regression suite, and promotes the candidate only if the gate
   says so: an atomic rename over ``<adapters_dir>/draft.gguf``, the previous adapter kept
   as ``draft.gguf.prev`` for :func:`rollback`.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sage.cascade import deterministic
from sage.cascade.adapters import draft_adapter
from sage.cascade.calibration import load_questions
from sage.cascade.chat import ChatModel
from sage.cascade.sentences import split_sentences
from sage.catalog import ModelCache
from sage.config import Config
from sage.dream.dreamer import Yielded
from sage.dream.gate import decide, score
from sage.dream.train import Example, train_lora
from sage.fsutil import fsync_dir
from sage.trust.store import Store

_LOGGER = logging.getLogger(__name__)

CAREFUL = " Take your time: answer precisely and correctly, as briefly as the question allows."
TEACHER_TOKENS = 160


class Distill:
    """Relabel → train → gate → promote, one unit at a time."""

    def __init__(self, config: Config, models: ModelCache, store: Store,
                 should_yield: Callable[[], bool]) -> None:  # fmt: skip
        self.config = config
        self._models = models
        self._store = store
        self._should_yield = should_yield
        self._teacher: ChatModel | None = None

    def units(self, report: dict[str, Any]) -> int:
        return len(report["selected"]) + len(report["held_out"]) + 2

    def do(self, unit: int, report: dict[str, Any]) -> None:
        lessons = report["selected"] + report["held_out"]
        if unit < len(lessons):
            slice_ = "train" if unit < len(report["selected"]) else "held_out"
            self._relabel(lessons[unit], slice_, report)
        elif unit == len(lessons):
            self._train(report)
        else:
            self._gate(report)
            self.close()

    def close(self) -> None:
        if self._teacher is not None:
            self._teacher.close()
            self._teacher = None

    def _messages(self, text: str, careful: bool = False) -> list[dict[str, str]]:
        system = self.config.llm.system_prompt + (CAREFUL if careful else "")
        return [{"role": "system", "content": system}, {"role": "user", "content": text}]

    def _relabel(self, experience_id: int, slice_: str, report: dict[str, Any]) -> None:
        row = self._store.experience(experience_id)
        dropped = report.setdefault("dropped", {})
        if row is None or row["route"] != "llm" or row["error"]:
            dropped["not a language-model turn"] = dropped.get("not a language-model turn", 0) + 1
            return
        if self._teacher is None:
            llm = self.config.llm
            path = self._models.path(self.config.dream.teacher_role)
            self._teacher = ChatModel(path, llm.n_ctx, llm.threads, role="teacher")
        text = row["transcript"]
        answer = " ".join(
            list(split_sentences(self._teach(text)))[: self.config.cascade.max_sentences]
        )
        exact = deterministic.answer(text, datetime.fromtimestamp(row["at"]))
        if exact is not None and not _agrees(exact.reply, answer):
            dropped["failed the exact check"] = dropped.get("failed the exact check", 0) + 1
            return
        lessons = report.setdefault("lessons", {"train": [], "held_out": []})
        lessons[slice_].append({"prompt": text, "answer": answer})

    def _teach(self, text: str) -> Iterator[str]:
        """The teacher's answer, token by token; someone speaking stops it at once."""
        assert self._teacher is not None
        for piece, _ in self._teacher.stream(self._messages(text, True), TEACHER_TOKENS):
            if self._should_yield():
                raise Yielded("relabel")
            yield piece

    def _examples(self, report: dict[str, Any], slice_: str) -> list[Example]:
        lessons = report.get("lessons", {}).get(slice_, [])
        return [Example(self._messages(e["prompt"]), e["answer"]) for e in lessons]

    def _train(self, report: dict[str, Any]) -> None:
        self.close()  # the teacher's memory goes back before torch takes its own
        examples = self._examples(report, "train")
        if len(examples) < 2 or not self._examples(report, "held_out"):
            report["decision"] = {"promoted": False,
                                  "why": "too few language-model turns to learn from"}  # fmt: skip
            return
        dream = self.config.dream
        candidate = self._candidate(report)
        _LOGGER.info("training the student's adapter on %d lessons", len(examples))
        result = train_lora(
            self._models.path(dream.student_role), examples, candidate, steps=dream.steps,
            rank=dream.rank, learning_rate=dream.learning_rate, threads=dream.threads,
            should_yield=self._should_yield,
        )  # fmt: skip
        if not result.completed:
            raise Yielded("training")
        report["training"] = asdict(result)

    def _candidate(self, report: dict[str, Any]) -> Path:
        directory = self.config.paths.state_dir / "dream"
        directory.mkdir(parents=True, exist_ok=True)
        return directory / f"candidate-{report['run']}.gguf"

    def _gate(self, report: dict[str, Any]) -> None:
        candidate = self._candidate(report)
        if "decision" in report or not candidate.exists():
            return
        dream = self.config.dream
        questions = load_questions()[: dream.regression_questions]
        held_out = self._examples(report, "held_out")
        model = ChatModel(self._models.path(dream.student_role), self.config.llm.n_ctx,
                          dream.threads, role="student", all_logits=True)  # fmt: skip
        current = draft_adapter(self.config)
        try:
            model.use_adapter(current if current.exists() else None)
            system = self.config.llm.system_prompt
            before, _ = score(model, held_out, system, questions, self._should_yield)
            model.use_adapter(candidate)
            after, _ = score(model, held_out, system, questions, self._should_yield)
        finally:
            model.close()
        promoted, why = decide(before, after, dream.margin)
        report["scores"] = {"before": before.as_dict(), "after": after.as_dict()}
        report["decision"] = {"promoted": promoted, "why": why}
        _LOGGER.info("DREAM %s the student: %s", "promoted" if promoted else "rejected", why)
        if promoted:
            promote(candidate, current)
        else:  # kept (only the last one) for a look at what was rejected
            os.replace(candidate, candidate.with_name("rejected.gguf"))


def _agrees(exact: str, answer: str) -> bool:
    """Every number of the exact reply appears in the answer."""
    numbers = re.findall(r"\d+(?:\.\d+)?", exact.replace(",", ""))
    return all(n in answer.replace(",", "") for n in numbers)


def promote(candidate: Path, current: Path) -> None:
    """Atomically make ``candidate`` the adapter in use; the previous one is kept."""
    current.parent.mkdir(parents=True, exist_ok=True)
    if current.exists():
        os.replace(current, current.with_name(current.name + ".prev"))
    os.replace(candidate, current)
    fsync_dir(current.parent)


def rollback(config: Config) -> str:
    """Put the previous adapter back (or none, if the first promotion is rolled back)."""
    current = draft_adapter(config)
    previous = current.with_name(current.name + ".prev")
    if previous.exists():
        os.replace(previous, current)
        fsync_dir(current.parent)
        return f"restored the previous adapter {current}"
    if current.exists():
        rejected = current.with_name(f"{current.name}.rolled-back-{int(time.time())}")
        os.replace(current, rejected)
        return f"no previous adapter; the draft runs without one ({rejected.name} kept)"
    return "nothing to roll back: no adapter has been promoted"
