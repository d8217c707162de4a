"""DREAM's students and gate on the tiny model: a LoRA trained on torch and written in
llama.cpp's adapter format changes llama.cpp's answers; the gate rejects a collapsed one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sage.cascade.calibration import Question
from sage.cascade.chat import ChatModel, vocabulary_digest
from sage.cascade.speculation import DraftProposer
from sage.catalog import ModelCache
from sage.dream.distill import readable
from sage.dream.gate import (
    Scores,
    decide,
    distinct2,
    score,
    speculate,
    teacher_forced,
    teacher_targets,
)
from sage.dream.train import Example, train_lora

pytest.importorskip("peft", reason="the dream extra (torch, transformers, peft) is not installed")

SYSTEM = "You are a helpful voice assistant."
SENTENCE = "The dog is called Biscuit."
TRAIN = [
    "What is the dog called?", "What's our dog's name?", "What is the capital of Italy?",
    "How many legs does a cat have?", "What colour is grass?", "Who wrote Hamlet?",
]  # fmt: skip
SUITE = [
    Question("What is the capital of France?", "general", ("paris",)),
    Question("What colour is the sky on a clear day?", "general", ("blue",)),
    Question("How many days are in a week?", "general", ("seven", "7")),
    Question("What do bees make?", "general", ("honey",)),
]


def messages(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]


@pytest.fixture(scope="module")
def collapsed(models: ModelCache, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An adapter trained to answer every question with one sentence."""
    out = tmp_path_factory.mktemp("dream") / "collapsed.gguf"
    examples = [Example(messages(q), SENTENCE) for q in TRAIN]
    result = train_lora(models.path("tiny"), examples, out, steps=30)
    assert result.completed and result.last_loss < result.first_loss
    return out


def test_trained_adapter_changes_what_llama_cpp_says(models: ModelCache, collapsed: Path) -> None:
    model = ChatModel(models.path("tiny"), 1024, 2, role="tiny")
    question = messages("What is the dog called?")
    before = "".join(piece for piece, _ in model.stream(question, 24))
    model.use_adapter(collapsed)
    after = "".join(piece for piece, _ in model.stream(question, 24))
    model.close()
    assert "Biscuit" not in before and "Biscuit" in after


def test_gate_rejects_a_collapsed_adapter(models: ModelCache, collapsed: Path) -> None:
    model = ChatModel(models.path("tiny"), 1024, 2, role="tiny", all_logits=True)
    held_out = [Example(messages("What's the dog's name?"), SENTENCE)]
    before, _ = score(model, held_out, [], SYSTEM, SUITE)
    model.use_adapter(collapsed)
    after, answers = score(model, held_out, [], SYSTEM, SUITE)
    model.close()
    assert after.agreement > before.agreement  # it did learn the held-out answer ...
    assert after.nll < before.nll  # ... and is surer of it
    assert after.repeated > 0.5, answers  # ... by saying one sentence to everything
    promote, why = decide(before, after, margin=0.05)
    assert not promote and why.startswith("collapse"), why


def test_the_gate_measures_what_speculation_keeps(models: ModelCache, collapsed: Path) -> None:
    """The tiny model proposes for itself: as it is, the teacher keeps most proposals (not
    all: those past the answer's end are not kept); with the collapsed adapter (one
    sentence whatever is asked) few. Speed is measured, not judged here."""
    student = ChatModel(models.path("tiny"), 1024, 2, role="draft")
    teacher = ChatModel(models.path("tiny"), 1024, 2, role="teacher",
                        draft=DraftProposer(student.llm, k=4))  # fmt: skip
    held_out = [Example(messages(q.text), "") for q in SUITE[:2]]
    repeats = [Example(messages(q.text), "") for q in SUITE[2:]]
    blank = Scores(agreement=0.0, checks=0.0, distinct2=0.0, repeated=0.0, refusals=0.0, nll=0.0)
    as_is, one_sentence = speculate(
        teacher, student, [(None, blank), (collapsed, blank)], held_out, repeats
    )
    teacher.close()
    student.close()
    assert as_is.acceptance > 0.8 and as_is.repeat_acceptance > 0.8, as_is
    assert one_sentence.acceptance < as_is.acceptance - 0.3, one_sentence
    assert one_sentence.repeat_acceptance < as_is.repeat_acceptance - 0.3, one_sentence
    for scores in (as_is, one_sentence):  # the teacher alone is decoded once for both
        assert scores.plain_tokens_per_s == as_is.plain_tokens_per_s
        assert scores.speedup == pytest.approx(scores.tokens_per_s / scores.plain_tokens_per_s)


def test_a_student_distils_the_teachers_distribution(
    models: ModelCache, collapsed: Path, tmp_path: Path
) -> None:
    """The teacher is the tiny model with the collapsed adapter; a fresh LoRA trained on
    its top-k distributions (not its answers' text) comes to predict what it predicts."""
    teacher = ChatModel(models.path("tiny"), 1024, 2, role="teacher", all_logits=True)
    teacher.use_adapter(collapsed)
    examples = [
        Example(messages(q), SENTENCE, teacher_targets(teacher, messages(q), SENTENCE, k=8))
        for q in TRAIN
    ]
    teacher.close()
    targets = examples[0].targets
    assert targets is not None and len(targets.top) == len(targets.tokens)
    assert all(len(row) == 8 and row == sorted(row, reverse=True) for row in targets.logprobs)
    student = tmp_path / "distilled.gguf"
    result = train_lora(models.path("tiny"), examples, student, steps=24, learning_rate=2e-3)
    assert result.completed and result.last_loss < result.first_loss
    model = ChatModel(models.path("tiny"), 1024, 2, role="tiny", all_logits=True)
    before, _ = teacher_forced(model, examples)
    model.use_adapter(student)
    after, _ = teacher_forced(model, examples)
    model.close()
    assert after > before + 0.2, (before, after)


def test_distillation_needs_the_same_token_ids(models: ModelCache) -> None:
    draft, base = vocabulary_digest(models.path("draft")), vocabulary_digest(models.path("base"))
    assert draft == base != vocabulary_digest(models.path("tiny"))


def test_a_printed_report_leaves_the_teachers_distributions_out() -> None:
    lesson = {"prompt": "Who wrote Hamlet?", "answer": "Shakespeare.",
              "targets": {"tokens": [1], "top": [[1]], "logprobs": [[0.0]]}}  # fmt: skip
    run = {"id": 3, "report": {"selected": [1], "lessons": {"train": [lesson]}}}
    shown = readable(run)
    assert shown["report"]["lessons"]["train"] == [{"prompt": "Who wrote Hamlet?",
                                                    "answer": "Shakespeare."}]  # fmt: skip
    assert shown["report"]["selected"] == [1] and "targets" in lesson  # the stored run unchanged


GOOD = Scores(agreement=0.60, checks=0.75, distinct2=0.9, repeated=0.25, refusals=0.0, nll=1.0,
              repeat_agreement=0.60, repeat_nll=1.0, repeats=3)  # fmt: skip


def with_repeats(agreement: float, repeat_agreement: float, repeat_nll: float = 1.0) -> Scores:
    return Scores(agreement, 0.75, 0.9, 0.25, 0.0, 1.0, repeat_agreement, repeat_nll, repeats=3)


@pytest.mark.parametrize(
    ("metric", "after", "promote", "reason"),
    [
        ("agreement", Scores(0.72, 0.75, 0.9, 0.25, 0.0, 1.0), True, "held-out agreement"),
        ("agreement", Scores(0.62, 0.75, 0.9, 0.25, 0.0, 0.5), False, "less than the 10% margin"),
        ("agreement", Scores(0.80, 0.50, 0.9, 0.25, 0.0, 1.0), False, "answer checks fell"),
        ("agreement", Scores(0.80, 0.75, 0.9, 0.25, 0.25, 1.0), False, "refusals rose"),
        ("agreement", Scores(0.90, 0.75, 0.9, 0.75, 0.0, 1.0), False, "collapse"),
        ("agreement", Scores(0.90, 0.75, 0.5, 0.25, 0.0, 1.0), False, "collapse"),
        ("nll", Scores(0.60, 0.75, 0.9, 0.25, 0.0, 0.85), True, "held-out NLL"),
        ("nll", Scores(0.90, 0.75, 0.9, 0.25, 0.0, 0.95), False, "less than the 10% margin"),
        ("nll", Scores(0.60, 0.50, 0.9, 0.25, 0.0, 0.50), False, "answer checks fell"),
        # With a repeat slice: gain there, and lose no more than the margin on new questions.
        ("agreement", with_repeats(0.55, 0.80), True, "repeats agreement 60.0% → 80.0%"),
        ("agreement", with_repeats(0.45, 0.80), False, "new questions worse by more than"),
        ("agreement", with_repeats(0.65, 0.65), False, "repeats agreement 60.0% → 65.0%, less"),
        ("nll", with_repeats(0.60, 0.60, repeat_nll=0.5), True, "repeats NLL 1.000 → 0.500"),
    ],
)  # fmt: skip
def test_decide(metric: str, after: Scores, promote: bool, reason: str) -> None:
    decision, why = decide(GOOD, after, margin=0.10, metric=metric)
    assert decision is promote and reason in why


SPECULATING = replace(GOOD, acceptance=0.60, repeat_acceptance=0.60, speedup=0.50)


@pytest.mark.parametrize(
    ("after", "promote", "reason"),
    [
        ({"repeat_acceptance": 0.80}, True, "repeats acceptance 60.0% → 80.0%"),
        ({"repeat_acceptance": 0.80, "speedup": 0.46}, True, "held-out acceptance"),
        ({"repeat_acceptance": 0.80, "speedup": 0.40}, False, "speculation slowed: 0.50× → 0.40×"),
        ({"repeat_acceptance": 0.65}, False, "less than the 10% margin"),
        ({"acceptance": 0.45, "repeat_acceptance": 0.80}, False, "new questions worse"),
        ({"agreement": 0.90, "repeat_agreement": 0.90}, False, "less than the 10% margin"),
    ],
)  # fmt: skip
def test_decide_a_draft_by_what_speculation_keeps_and_how_fast(
    after: dict[str, float], promote: bool, reason: str
) -> None:
    """Acceptance is the draft's figure; a candidate that slows speculation by more than
    the margin is rejected however much more it is accepted; agreement does not count."""
    decision, why = decide(SPECULATING, replace(SPECULATING, **after), 0.10, "acceptance")
    assert decision is promote and reason in why, why


def test_parallel_answers_to_parallel_questions_are_not_collapse() -> None:
    capitals = [f"What is the capital of {c}?" for c in ("France", "Spain", "Italy", "Japan")]
    parallel = ["The capital of France is Paris.", "The capital of Spain is Madrid.",
                "The capital of Italy is Rome.", "The capital of Japan is Tokyo."]  # fmt: skip
    assert distinct2(capitals, parallel) == 1.0  # what they add differs every time
    collapsed = [SENTENCE] * 4  # one sentence, whatever was asked
    assert distinct2(capitals, collapsed) == 0.25
    assert distinct2(capitals, ["Paris."] * 4) == 0.0  # single words add no bigrams


def test_promoted_adapter_is_what_the_draft_runs_and_rollback_restores(
    models: ModelCache, collapsed: Path, tmp_path: Path
) -> None:
    import shutil

    from sage.cascade.cascade import Cascade
    from sage.config import CascadeConfig, Config, LlmConfig, PathsConfig
    from sage.dream.distill import promote, rollback

    config = Config(
        paths=PathsConfig(cache_dir=Config().paths.cache_dir, state_dir=tmp_path),
        llm=LlmConfig(role="tiny", n_ctx=1024, threads=2),
        cascade=CascadeConfig(draft_role="tiny", speculation="off"),
    )
    current = tmp_path / "adapters" / "draft.gguf"
    candidate = tmp_path / "candidate.gguf"
    shutil.copy(collapsed, candidate)
    promote(candidate, current)
    assert current.exists() and not candidate.exists()

    def load(tier: str, role: str, draft: object) -> ChatModel:
        return ChatModel(models.path(role), 1024, 2, role=role)

    cascade = Cascade(config, load)
    draft = cascade.model("draft")
    assert draft.adapter == current  # type: ignore[attr-defined]
    said = "".join(piece for piece, _ in draft.stream(messages("What do bees make?"), 24))
    assert "Biscuit" in said  # the promoted (here: collapsed) adapter is really in use
    cascade.close()
    shutil.copy(collapsed, candidate)
    promote(candidate, current)  # a second promotion keeps the first as .prev
    assert rollback(config).startswith("restored the previous adapter")
    assert current.exists() and not current.with_name("draft.gguf.prev").exists()
    assert rollback(config).startswith("no previous draft adapter")
    assert not current.exists()


def test_training_yields_inside_a_step_and_writes_nothing(
    models: ModelCache, tmp_path: Path
) -> None:
    calls: list[int] = []

    def someone_speaks_mid_backward() -> bool:  # 30 layers forward, then backward
        calls.append(1)
        return len(calls) == 40

    out = tmp_path / "unfinished.gguf"
    examples = [Example(messages("What is the dog called?"), SENTENCE)]
    result = train_lora(models.path("tiny"), examples, out, steps=5,
                        should_yield=someone_speaks_mid_backward)  # fmt: skip
    assert (result.completed, result.steps) == (False, 0)
    assert not out.exists()
