"""Threshold calibration: the checks, the calibration error, and a run on a real model."""

from __future__ import annotations

import numpy as np
import pytest

from sage.cascade.calibration import (
    LOW_PROB_GRID,
    MEAN_NLL_GRID,
    Question,
    Sample,
    answer_all,
    calibrate,
    cross_validate,
    expected_calibration_error,
    judge,
    load_questions,
)
from sage.cascade.chat import ChatModel, Uncertainty
from sage.catalog import ModelCache


def test_eval_set_has_fifty_checked_questions_in_four_domains() -> None:
    questions = load_questions()
    assert len(questions) >= 50
    assert {q.domain for q in questions} == {"general", "math", "code", "home"}
    assert all(q.any or q.all for q in questions)


def test_checks() -> None:
    q = Question("capital of France?", "general", any=("paris",))
    assert q.passes("The capital is Paris.") and not q.passes("It is Lyon.")
    both = Question("x", "code", all=("def", "return"))
    assert both.passes("def f(): return 1") and not both.passes("def f(): pass")


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    confidence = np.array([0.9] * 10 + [0.1] * 10)
    correct = np.array([1.0] * 9 + [0.0] + [1.0] + [0.0] * 9)
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([1.0, 1.0]), np.array([0.0, 0.0])) == 1.0


def sample(correct: bool, low_prob: float, nll: float) -> Sample:
    return Sample("q", "r", correct, Uncertainty(10, nll, low_prob, low_prob / 2))


def test_separable_samples_get_separating_thresholds() -> None:
    samples = [sample(True, 0.9, 0.05)] * 6 + [sample(False, 0.1, 1.0)] * 4
    result = calibrate(samples)
    assert result.balanced_accuracy == 1.0
    assert result.escalation_rate == pytest.approx(0.4)
    assert result.accuracy_when_sure == 1.0
    assert result.escalate_low_prob in LOW_PROB_GRID and result.escalate_mean_nll in MEAN_NLL_GRID


def test_given_thresholds_are_judged_without_fitting() -> None:
    samples = [sample(True, 0.9, 0.05)] * 6 + [sample(False, 0.1, 1.0)] * 4
    judged = judge(samples, 0.5, 0.5)
    assert (judged.balanced_accuracy, judged.escalation_rate) == (1.0, 0.4)
    never = judge(samples, 0.0, 99.0)  # nothing escalates: no better than chance
    assert (never.balanced_accuracy, never.escalation_rate, never.accuracy_when_sure) == (
        0.5, 0.0, 0.6)  # fmt: skip


def test_held_out_figures_do_not_flatter_thresholds_fitted_on_noise() -> None:
    rng = np.random.default_rng(0)  # statistics that say nothing about correctness
    samples = [sample(bool(rng.random() < 0.7), rng.random(), rng.random() * 1.5)
               for _ in range(60)]  # fmt: skip
    fitted, held_out = calibrate(samples), cross_validate(samples)
    assert fitted.balanced_accuracy > 0.6  # the grid finds a pattern in the noise...
    assert held_out.balanced_accuracy < 0.55  # ...that does not hold for unseen samples
    separable = [sample(True, 0.9, 0.05), sample(False, 0.1, 1.0)] * 8
    assert cross_validate(separable).balanced_accuracy == 1.0


def test_calibration_on_a_small_labelled_set_with_a_real_model(models: ModelCache) -> None:
    questions = load_questions()[:6]
    model = ChatModel(models.path("tiny"), 1024, 2, role="tiny")
    try:
        samples = answer_all(model, questions, "Answer in one short sentence.", max_tokens=32)
    finally:
        model.close()
    assert len(samples) == 6 and all(s.uncertainty.tokens > 0 for s in samples)
    result = calibrate(samples)
    assert 0.0 <= result.ece <= 1.0
    assert 0.5 <= result.balanced_accuracy <= 1.0
    assert result.samples == 6
