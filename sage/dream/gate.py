"""DREAM's gate: a student is promoted only if it is measurably better on what it was not
trained on and a fixed regression suite does not get worse.

Two validation slices, both never trained on: **held-out** questions (new to the
student) and **repeats** (other phrasings of trained questions that the household asked,
"Hey, what is X?" where "What is X?" was trained). With repeats, the student must gain
``margin`` on them and may lose at most ``margin`` on the held-out questions (learning
what this household asks without forgetting the rest); without repeats it must gain
``margin`` on the held-out questions. The figure is the student's:

- **agreement**: fed the teacher's answer, the share of positions where the student's
  greedy next token is the teacher's: the acceptance rate a greedy speculative verifier
  sees (the draft's figure, in points). Where the lessons carry the teacher's
  distribution (:class:`~sage.dream.train.Targets`), the teacher's token is its most
  likely one under the student's own prompt, as the base verifying the draft would pick
  it; otherwise the token it wrote.
- **nll**: the student's mean negative log-likelihood per token of those answers (nats):
  how unsure it is of them (a modifier's figure, as a relative drop).
- **checks**: the share of regression questions whose answer passes its check.
- **distinct2** and **repeated**: the collapse detector (the origin of this design saw
  75 % of replies become the same sentence). distinct2 is the share of distinct word
  bigrams among those the answers add to their questions: a bigram the question holds
  ("capital of" in "What is the capital of Spain?") is left out, so parallel questions
  answered in parallel ("The capital of Spain is Madrid.") do not count as collapse,
  while one sentence said whatever was asked does. repeated is the share of answers that
  are the most common answer.
- **refusals**: the share of answers that refuse.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from sage.cascade.calibration import Question
from sage.cascade.chat import ChatModel
from sage.dream.dreamer import Yielded
from sage.dream.train import Example, Targets

_REFUSAL = re.compile(r"\b(i can(no|')t|i am unable|i'm unable|as an ai|i'm sorry, but)\b", re.I)
MAX_ANSWER_TOKENS = 48


@dataclass(frozen=True)
class Scores:
    agreement: float
    checks: float
    distinct2: float
    repeated: float
    refusals: float
    nll: float
    repeat_agreement: float = 0.0
    repeat_nll: float = 0.0
    repeats: int = 0
    """Answers in the repeat slice (0: no repeat slice this run)."""
    acceptance: float = 0.0
    repeat_acceptance: float = 0.0
    tokens_per_s: float = 0.0
    """With the student proposing (0: speculation was not measured)."""
    plain_tokens_per_s: float = 0.0
    speedup: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """The figures, rounded; speculation's only where it was measured (a modifier, or
        a draft with other token ids, would otherwise report an acceptance of 0)."""
        unmeasured = SPECULATION if not self.tokens_per_s else ()
        return {key: round(value, 4) for key, value in asdict(self).items()
                if key not in unmeasured}  # fmt: skip


SPECULATION = ("acceptance", "repeat_acceptance", "plain_tokens_per_s", "tokens_per_s", "speedup")
"""The figures :func:`speculate` measures."""


def teacher_forced(model: ChatModel, examples: Sequence[Example]) -> tuple[float, float]:
    """Greedy agreement with, and mean NLL of, the examples' answers (needs ``all_logits``)."""
    agreed = total = 0
    nll = 0.0
    for example in examples:
        prompt, _ = model.prompt_tokens(example.messages)
        if example.targets is not None:
            answer = example.targets.tokens
            expected = np.asarray([top[0] for top in example.targets.top])
        else:
            answer = model.llm.tokenize(example.answer.encode(), add_bos=False, special=False)
            expected = np.asarray(answer)
        logprobs = model.answer_logprobs(prompt, answer)
        agreed += int(np.sum(np.argmax(logprobs, axis=1) == expected))
        nll -= float(np.sum(logprobs[np.arange(len(answer)), answer]))
        total += len(answer)
    return (agreed / total, nll / total) if total else (0.0, 0.0)


def speculate(
    teacher: ChatModel,
    student: ChatModel,
    scored: Sequence[tuple[Path | None, Scores]],
    held_out: Sequence[Example],
    repeats: Sequence[Example],
    should_yield: Callable[[], bool] = lambda: False,
) -> list[Scores]:
    """Each student adapter's scores with the teacher's greedy decoding of each validation
    question with the student proposing (``teacher.draft``, a proposer over ``student``),
    against the teacher alone: acceptance per slice, tokens/s and speedup (module
    docstring).

    After an adapter switch (which drops the student's KV cache) the student evaluates the
    standing prompt first, as the cascade keeps it cached in its draft: counted inside
    the first proposal, it cut speculation from 6.0 to 4.0 tokens/s on the reference CPU.
    """
    proposer = teacher.draft
    assert proposer is not None, "the teacher needs the student as its draft"
    speculating = False
    proposer.enabled = lambda: speculating
    plain: list[float] = []
    rates: list[list[float]] = [[] for _ in scored]
    kept = [{False: [0, 0], True: [0, 0]} for _ in scored]  # slice → [accepted, proposed]
    asked = [(False, e) for e in held_out] + [(True, e) for e in repeats]
    for repeat, example in asked:
        if should_yield():
            raise Yielded("gate")
        speculating = False
        plain += _decode_rate(teacher, example.messages)
        speculating = True
        for n, (adapter, _) in enumerate(scored):
            if student.adapter != adapter or not student.llm.n_tokens:
                student.use_adapter(adapter)
                student.warm(example.messages[:1])  # the system message
            accepted, proposed = proposer.accepted, proposer.proposed
            rates[n] += _decode_rate(teacher, example.messages)
            kept[n][repeat][0] += proposer.accepted - accepted
            kept[n][repeat][1] += proposer.proposed - proposed
    plain_rate = statistics.median(plain) if plain else 0.0
    figures = []
    for n, (_, scores) in enumerate(scored):
        rate = statistics.median(rates[n]) if rates[n] else 0.0
        figures.append(replace(
            scores,
            acceptance=kept[n][False][0] / max(1, kept[n][False][1]),
            repeat_acceptance=kept[n][True][0] / max(1, kept[n][True][1]),
            tokens_per_s=rate,
            plain_tokens_per_s=plain_rate,
            speedup=rate / plain_rate if plain_rate else 0.0,
        ))  # fmt: skip
    return figures


def _decode_rate(model: ChatModel, messages: list[dict[str, str]]) -> list[float]:
    """Tokens/s of a greedy answer after its first token (none for a one-token answer);
    the KV cache is dropped first, so every decoding starts alike."""
    model.llm.reset()
    first, tokens = 0.0, 0
    for _ in model.stream(messages, MAX_ANSWER_TOKENS):
        first = first or time.perf_counter()
        tokens += 1
    return [(tokens - 1) / (time.perf_counter() - first)] if tokens > 1 else []


def teacher_targets(
    model: ChatModel, messages: list[dict[str, str]], answer: str, k: int
) -> Targets:
    """The model's top ``k`` next tokens at each position of ``answer`` (and its end of
    turn) after ``messages``: what a student distils (needs ``all_logits``)."""
    prompt, _ = model.prompt_tokens(messages)
    tokens = model.llm.tokenize(answer.encode(), add_bos=False, special=False)
    tokens.append(model.llm.token_eos())
    logprobs = model.answer_logprobs(prompt, tokens)
    top = np.argpartition(-logprobs, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(logprobs, top, axis=1), axis=1)
    top = np.take_along_axis(top, order, axis=1)  # most likely first
    chosen = np.take_along_axis(logprobs, top, axis=1)
    return Targets(tokens, top.tolist(), np.round(chosen, 3).tolist())


def regression(
    model: ChatModel,
    system: str,
    questions: Sequence[Question],
    should_yield: Callable[[], bool] = lambda: False,
) -> list[str]:
    """The model's greedy answers to the regression questions (Yielded if told to stop)."""
    answers = []
    for question in questions:
        if should_yield():
            raise Yielded("gate")
        messages = [{"role": "system", "content": system},
                    {"role": "user", "content": question.text}]  # fmt: skip
        answers.append("".join(piece for piece, _ in model.stream(messages, MAX_ANSWER_TOKENS)))
    return answers


def _bigrams(text: str) -> list[tuple[str, str]]:
    words = re.findall(r"[\w']+", text.lower())
    return list(zip(words, words[1:], strict=False))


def distinct2(questions: Sequence[str], answers: Sequence[str]) -> float:
    """Distinct share of the word bigrams the answers add to their questions."""
    added: list[tuple[str, str]] = []
    for question, answer in zip(questions, answers, strict=True):
        asked = set(_bigrams(question))
        added += [pair for pair in _bigrams(answer) if pair not in asked]
    return len(set(added)) / len(added) if added else 0.0


def score(
    model: ChatModel,
    held_out: Sequence[Example],
    repeats: Sequence[Example],
    system: str,
    questions: Sequence[Question],
    should_yield: Callable[[], bool] = lambda: False,
) -> tuple[Scores, list[str]]:
    """Every gate figure for one model (with or without an adapter on)."""
    answers = regression(model, system, questions, should_yield)
    common = Counter(a.strip().lower() for a in answers).most_common(1)
    agreed, nll = teacher_forced(model, held_out)
    repeat_agreed, repeat_nll = teacher_forced(model, repeats)
    return Scores(
        agreement=agreed,
        checks=sum(q.passes(a) for q, a in zip(questions, answers, strict=True)) / len(answers),
        distinct2=distinct2([q.text for q in questions], answers),
        repeated=common[0][1] / len(answers) if common else 0.0,
        refusals=sum(bool(_REFUSAL.search(a)) for a in answers) / len(answers),
        nll=nll,
        repeat_agreement=repeat_agreed,
        repeat_nll=repeat_nll,
        repeats=len(repeats),
    ), answers


def decide(
    before: Scores, after: Scores, margin: float, metric: str = "agreement"
) -> tuple[bool, str]:
    """Promote or not, and why (the module docstring has the rule)."""
    if after.repeated > max(before.repeated, 0.25) or after.distinct2 < before.distinct2 - 0.1:
        return False, (f"collapse: {after.repeated:.0%} of answers the same "
                       f"(before {before.repeated:.0%}), distinct-2 {after.distinct2:.2f} "
                       f"(before {before.distinct2:.2f})")  # fmt: skip
    if after.checks < before.checks:
        return False, f"answer checks fell from {before.checks:.0%} to {after.checks:.0%}"
    if after.refusals > before.refusals:
        return False, f"refusals rose from {before.refusals:.0%} to {after.refusals:.0%}"
    if metric == "acceptance" and after.speedup < before.speedup * (1 - margin):
        return False, (f"speculation slowed: {before.speedup:.2f}× → {after.speedup:.2f}× "
                       "the teacher alone")  # fmt: skip
    held_out = _change(before, after, metric, repeats=False)
    short = f"less than the {margin:.0%} margin"
    if not after.repeats:
        if gain(before, after, metric, repeats=False) < margin:
            return False, f"{held_out}, {short}"
        return True, f"{held_out}, no regression"
    repeats = _change(before, after, metric, repeats=True)
    if gain(before, after, metric, repeats=False) < -margin:
        return False, f"{held_out}: new questions worse by more than the {margin:.0%} margin"
    if gain(before, after, metric, repeats=True) < margin:
        return False, f"{repeats}, {short}"
    return True, f"{repeats}, {held_out}, no regression"


def figure(scores: Scores, metric: str, repeats: bool) -> float:
    """The student's figure on one slice."""
    return float(getattr(scores, f"repeat_{metric}" if repeats else metric))


def gain(before: Scores, after: Scores, metric: str, repeats: bool | None = None) -> float:
    """The change in the student's figure on a slice (the repeats, where there are any, by
    default): acceptance or agreement points, or the relative drop in NLL."""
    on_repeats = bool(after.repeats) if repeats is None else repeats
    was, now = figure(before, metric, on_repeats), figure(after, metric, on_repeats)
    if metric == "nll":
        return (was - now) / was if was > 0 else 0.0
    return now - was


def _change(before: Scores, after: Scores, metric: str, repeats: bool) -> str:
    was, now = figure(before, metric, repeats), figure(after, metric, repeats)
    where = "repeats" if repeats else "held-out"
    if metric == "nll":
        return f"{where} NLL {was:.3f} → {now:.3f}"
    return f"{where} {metric} {was:.1%} → {now:.1%}"
