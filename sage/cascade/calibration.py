"""Calibrate the escalation thresholds on a labelled question set.

A model answers each question; its token statistics are paired with whether the answer
passed the question's check. The thresholds that best separate wrong answers from right
ones (balanced accuracy of "unsure" predicting "wrong") are chosen, and the calibration
error of the model's confidence is reported. Figures for thresholds fitted and scored on
the same few questions flatter them, so :func:`cross_validate` also scores each question
with thresholds fitted without it (k folds).
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sage.cascade.chat import ChatModel, Uncertainty

EVAL_SET = Path(__file__).resolve().parents[2] / "tools" / "eval" / "questions.toml"
LOW_PROB_GRID = tuple(round(x, 2) for x in np.arange(0.05, 0.65, 0.05))
MEAN_NLL_GRID = tuple(round(x, 2) for x in np.arange(0.2, 1.6, 0.1))


@dataclass(frozen=True)
class Question:
    """One labelled question."""

    text: str
    domain: str
    any: tuple[str, ...] = ()
    """The reply passes when it contains one of these (case-insensitive)."""
    all: tuple[str, ...] = ()
    """... and all of these."""

    def passes(self, reply: str) -> bool:
        """Does ``reply`` pass this question's check?"""
        lowered = reply.lower()
        return (not self.any or any(s.lower() in lowered for s in self.any)) and all(
            s.lower() in lowered for s in self.all
        )


def load_questions(path: Path = EVAL_SET) -> list[Question]:
    """Read the evaluation set."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    return [
        Question(q["text"], q["domain"], tuple(q.get("any", ())), tuple(q.get("all", ())))
        for q in raw["q"]
    ]


@dataclass(frozen=True)
class Sample:
    """One answered question."""

    question: str
    reply: str
    correct: bool
    uncertainty: Uncertainty


@dataclass(frozen=True)
class Calibration:
    """The chosen thresholds and how well they and the model's confidence do."""

    escalate_low_prob: float
    escalate_mean_nll: float
    balanced_accuracy: float
    """Of "unsure" as a predictor of "wrong" (0.5 = no better than chance)."""
    escalation_rate: float
    accuracy: float
    """Share of answers that passed their check."""
    accuracy_when_sure: float
    ece: float
    """Expected calibration error of exp(-mean NLL) as P(correct), 5 equal bins."""
    samples: int


def answer_all(
    model: ChatModel, questions: list[Question], system_prompt: str, max_tokens: int = 64
) -> list[Sample]:
    """Let ``model`` answer every question greedily; keep text, check and statistics."""
    samples = []
    for question in questions:
        messages = [
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": question.text},
        ]
        pieces = list(model.stream(messages, max_tokens))
        reply = "".join(p for p, _ in pieces)
        uncertainty = Uncertainty.of([lp for _, lp in pieces])
        samples.append(Sample(question.text, reply, question.passes(reply), uncertainty))
    return samples


def _unsure(u: Uncertainty, low_prob: float, mean_nll: float) -> bool:
    return u.tokens > 0 and (u.low_prob < low_prob or u.mean_nll > mean_nll)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 5) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            gap = abs(correct[members].mean() - confidence[members].mean())
            error += gap * members.mean()
    return float(error)


def _balanced_accuracy(unsure: np.ndarray, correct: np.ndarray) -> float:
    """Of "unsure" as a predictor of "wrong"."""
    wrong = ~correct
    tpr = (unsure & wrong).sum() / wrong.sum() if wrong.any() else 1.0
    tnr = (~unsure & correct).sum() / correct.sum() if correct.any() else 1.0
    return float((tpr + tnr) / 2)


@dataclass(frozen=True)
class Judged:
    """How given thresholds do on given samples."""

    escalate_low_prob: float
    escalate_mean_nll: float
    balanced_accuracy: float
    escalation_rate: float
    accuracy_when_sure: float


def judge(samples: list[Sample], low_prob: float, mean_nll: float) -> Judged:
    """Score thresholds (such as the configured ones) on ``samples`` without fitting."""
    unsure = np.array([_unsure(s.uncertainty, low_prob, mean_nll) for s in samples])
    correct = np.array([s.correct for s in samples], dtype=bool)
    sure = ~unsure
    return Judged(
        escalate_low_prob=low_prob,
        escalate_mean_nll=mean_nll,
        balanced_accuracy=round(_balanced_accuracy(unsure, correct), 4),
        escalation_rate=round(float(unsure.mean()), 4),
        accuracy_when_sure=round(float(correct[sure].mean()), 4) if sure.any() else 0.0,
    )


def calibrate(samples: list[Sample]) -> Calibration:
    """Choose thresholds on ``samples`` and report the calibration error."""
    if not samples:
        raise ValueError("no samples to calibrate on")
    correct = np.array([s.correct for s in samples], dtype=bool)
    best: tuple[float, float, float, float] | None = None
    for low_prob in LOW_PROB_GRID:
        for mean_nll in MEAN_NLL_GRID:
            unsure = np.array([_unsure(s.uncertainty, low_prob, mean_nll) for s in samples])
            score = _balanced_accuracy(unsure, correct)
            # Ties go to fewer escalations: each one costs a base-model answer.
            key = (score, -unsure.mean(), low_prob, mean_nll)
            if best is None or key[:2] > best[:2]:
                best = key
    assert best is not None
    score, neg_rate, low_prob, mean_nll = best
    unsure = np.array([_unsure(s.uncertainty, low_prob, mean_nll) for s in samples])
    confidence = np.array([np.exp(-s.uncertainty.mean_nll) for s in samples])
    sure = ~unsure
    return Calibration(
        escalate_low_prob=float(low_prob),
        escalate_mean_nll=float(mean_nll),
        balanced_accuracy=round(float(score), 4),
        escalation_rate=round(float(-neg_rate), 4),
        accuracy=round(float(correct.mean()), 4),
        accuracy_when_sure=round(float(correct[sure].mean()), 4) if sure.any() else 0.0,
        ece=round(expected_calibration_error(confidence, correct.astype(float)), 4),
        samples=len(samples),
    )


@dataclass(frozen=True)
class HeldOut:
    """Each sample judged by thresholds fitted on the other folds."""

    folds: int
    balanced_accuracy: float
    escalation_rate: float
    accuracy_when_sure: float


def cross_validate(samples: list[Sample], folds: int = 4) -> HeldOut:
    """Out-of-fold figures: fold k holds every k-th sample (so domains mix); its samples
    are judged with the thresholds :func:`calibrate` fits on the rest."""
    if len(samples) < folds:
        raise ValueError(f"{len(samples)} samples cannot make {folds} folds")
    unsure = np.zeros(len(samples), dtype=bool)
    for k in range(folds):
        fit = calibrate([s for i, s in enumerate(samples) if i % folds != k])
        for i in range(k, len(samples), folds):
            unsure[i] = _unsure(
                samples[i].uncertainty, fit.escalate_low_prob, fit.escalate_mean_nll
            )
    correct = np.array([s.correct for s in samples], dtype=bool)
    sure = ~unsure
    return HeldOut(
        folds=folds,
        balanced_accuracy=round(_balanced_accuracy(unsure, correct), 4),
        escalation_rate=round(float(unsure.mean()), 4),
        accuracy_when_sure=round(float(correct[sure].mean()), 4) if sure.any() else 0.0,
    )


def report(
    calibration: Calibration, samples: list[Sample], configured: tuple[float, float]
) -> dict[str, Any]:
    """A JSON-ready report; ``configured`` (low_prob, mean NLL) are the thresholds in use,
    scored on the same samples."""
    return {
        "calibration": asdict(calibration),
        "held_out": asdict(cross_validate(samples)),
        "configured": asdict(judge(samples, *configured)),
        "config": {
            "cascade": {
                "escalate_low_prob": calibration.escalate_low_prob,
                "escalate_mean_nll": calibration.escalate_mean_nll,
            }
        },
        "samples": [
            {
                "question": s.question,
                "reply": s.reply,
                "correct": s.correct,
                **s.uncertainty.as_dict(),
            }
            for s in samples
        ],  # fmt: skip
    }
