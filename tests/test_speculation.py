"""Speculative decoding: same greedy text, measured acceptance, and the adaptive switch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from sage.cascade.cascade import Cascade, Generation
from sage.cascade.chat import ChatModel
from sage.cascade.speculation import (
    EXPLORE_EVERY,
    DraftProposer,
    SpeculationSwitch,
    resolve_mode,
)
from sage.catalog import ModelCache
from sage.config import CascadeConfig, Config
from tests.conftest import assert_same_greedy_text

CODE = [
    {"role": "system", "content": "You are a concise coding assistant."},
    {"role": "user", "content": "Write a Python function that returns the sum of a list."},
]


def test_switch_measures_plain_first_then_speculation_then_keeps_the_faster() -> None:
    switch = SpeculationSwitch("adaptive")
    assert switch.should_speculate("stable") is False
    switch.record("stable", False, 10.0)
    assert switch.should_speculate("stable") is True
    switch.record("stable", True, 8.0)  # slower: turned off
    assert switch.should_speculate("stable") is False
    assert switch.should_speculate("moving") is False  # each context measures on its own


@pytest.mark.parametrize(
    ("setting", "gpu", "mode"),
    [("auto", True, "adaptive"), ("auto", False, "off"), ("on", False, "on"),
     ("adaptive", False, "adaptive"), ("off", True, "off")],
)  # fmt: skip
def test_auto_mode_follows_the_host(setting: str, gpu: bool, mode: str) -> None:
    assert resolve_mode(setting, gpu) == mode


def test_switch_keeps_speculation_where_it_pays_and_rechecks() -> None:
    switch = SpeculationSwitch("adaptive")
    switch.record("stable", False, 10.0)
    switch.record("stable", True, 14.0)
    decisions = []
    for _ in range(EXPLORE_EVERY * 2):
        on = switch.should_speculate("stable")
        decisions.append(on)
        switch.record("stable", on, 14.0 if on else 10.0)
    assert decisions.count(False) == 2  # one re-check of plain decoding per EXPLORE_EVERY turns
    assert SpeculationSwitch("off").should_speculate("stable") is False
    assert SpeculationSwitch("on").should_speculate(None) is True


@pytest.fixture(scope="module")
def draft(models: ModelCache) -> Iterator[ChatModel]:
    model = ChatModel(models.path("draft"), 1024, 2, role="draft")
    yield model
    model.close()


def test_speculation_gives_the_same_greedy_text(models: ModelCache, draft: ChatModel) -> None:
    proposer = DraftProposer(draft.llm, k=4)
    plain = ChatModel(models.path("base"), 1024, 2, role="base")
    try:
        expected = "".join(p for p, _ in plain.stream(CODE, 48))
    finally:
        plain.close()
    speculative = ChatModel(models.path("base"), 1024, 2, role="base", draft=proposer)
    try:
        speculative.llm.scores.fill(np.nan)
        got = [(p, lp) for p, lp in speculative.stream(CODE, 48)]
        scores = speculative.llm.scores[: speculative.llm.n_tokens].copy()
        prompt = len(speculative.prompt_tokens(CODE)[0])
        assert_same_greedy_text(speculative, CODE, expected, "".join(p for p, _ in got))
    finally:
        speculative.close()
    assert proposer.proposed > 0 and 0 < proposer.acceptance <= 1
    assert all(lp <= 1e-6 for _, lp in got)
    # Rows are kept for the verified proposals (past the prompt), not for the prompt.
    kept = ~np.isnan(scores).any(axis=1)
    assert not kept[: prompt - 1].any() and kept[prompt:].any()


def test_without_proposals_the_seam_keeps_one_logits_row(models: ModelCache) -> None:
    """A base with a draft seam that proposes nothing decodes as one without a seam, and
    keeps no row of the prompt's logits (speculation costs no first-token time)."""
    plain = ChatModel(models.path("tiny"), 1024, 2, role="tiny")
    try:
        expected = list(plain.stream(CODE, 16))
    finally:
        plain.close()
    silent = DraftProposer(None, k=4, enabled=lambda: False)
    seamed = ChatModel(models.path("tiny"), 1024, 2, role="tiny", draft=silent)
    try:
        seamed.llm.scores.fill(np.nan)
        assert list(seamed.stream(CODE, 16)) == expected
        assert np.isnan(seamed.llm.scores[: seamed.llm.n_tokens]).all()
    finally:
        seamed.close()


class RecordingProposer(DraftProposer):
    """The real draft seam, remembering where each proposal starts and what it was."""

    def __init__(self, draft: Any) -> None:
        super().__init__(draft, k=4)
        self.proposals: list[tuple[int, list[int]]] = []

    def propose(self, input_ids: list[int]) -> list[int]:
        proposal = super().propose(input_ids)
        self.proposals.append((len(input_ids), proposal))
        return proposal


def test_acceptance_counts_the_last_round_of_an_answer(models: ModelCache) -> None:
    """A draft that is the base itself has every proposal inside the answer kept, the
    answer's last round too (llama.cpp shows what was kept only at its next call)."""
    plain = ChatModel(models.path("tiny"), 1024, 2, role="tiny")
    same = ChatModel(models.path("tiny"), 1024, 2, role="tiny")
    proposer = RecordingProposer(same.llm)
    speculative = ChatModel(models.path("tiny"), 1024, 2, role="tiny", draft=proposer)
    try:
        prompt, _ = plain.prompt_tokens(CODE)
        answer: list[int] = []
        for token in plain.llm.generate(prompt, temp=0.0, repeat_penalty=1.0):
            answer.append(token)
            if plain._is_end(token) or len(answer) == 24:
                break
        list(speculative.stream(CODE, 24))
    finally:
        for model in (speculative, same, plain):
            model.close()
    end = len(prompt) + len(answer)
    inside = sum(max(0, min(len(p), end - start)) for start, p in proposer.proposals)
    assert len(proposer.proposals) >= 2
    assert proposer.accepted == inside  # past the answer's end nothing is kept


def test_a_verified_batch_gives_each_token_the_logprob_of_its_own_row(
    models: ModelCache,
) -> None:
    """With a draft whose proposals are all kept, several tokens come from one batch; each
    token's log-probability is read from its own position's row of that batch."""
    same = ChatModel(models.path("tiny"), 1024, 2, role="tiny")
    proposer = DraftProposer(same.llm, k=4)
    speculative = ChatModel(models.path("tiny"), 1024, 2, role="tiny", draft=proposer)
    try:
        speculative.llm.scores.fill(np.nan)
        got = list(speculative.stream(CODE, 24))
        prompt = len(speculative.prompt_tokens(CODE)[0])
        rows = np.asarray(speculative.llm.scores[prompt - 1 : prompt - 1 + len(got)], np.float64)
        answer = speculative.llm.input_ids[prompt : prompt + len(got)]
    finally:
        speculative.close()
        same.close()
    log_softmax = rows - rows.max(axis=1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
    batched = [i for i in range(len(got)) if not np.isnan(rows[i]).any()]
    assert proposer.accepted >= 8 and len(batched) >= 8  # rows kept for verified proposals
    for i in batched:
        assert got[i][1] == pytest.approx(log_softmax[i, answer[i]], abs=1e-4)
    neighbours = [i for i in batched if i + 1 in batched]
    assert any(abs(got[i][1] - log_softmax[i + 1, answer[i]]) > 0.1 for i in neighbours)


class SlowProposer(DraftProposer):
    """A draft seam that proposes like the real one but takes 0.3 s per proposal."""

    def __init__(self, inner: DraftProposer) -> None:
        super().__init__(inner.draft, inner.k, inner.enabled)

    def __call__(self, input_ids: np.ndarray, /, **kwargs: Any) -> np.ndarray:
        if self.enabled():
            time.sleep(0.3)
        return super().__call__(input_ids, **kwargs)


def test_switch_turns_speculation_off_when_the_draft_is_slow(
    models: ModelCache, draft: ChatModel
) -> None:
    loaded: list[ChatModel] = []

    def load(tier: str, role: str, proposer: DraftProposer | None) -> ChatModel:
        if tier == "draft":
            return draft
        slow = SlowProposer(proposer) if proposer is not None else None
        loaded.append(ChatModel(models.path(role), 1024, 2, role=role, draft=slow))
        return loaded[-1]

    config = Config(cascade=CascadeConfig(speculation="adaptive", escalate_low_prob=0.0,
                                          escalate_mean_nll=99.0, max_sentences=2))  # fmt: skip
    cascade = Cascade(config, load=load)
    try:
        modes = []
        for _ in range(3):
            stats = Generation()
            list(cascade.respond("Write a Python function that returns the sum of a list.",
                                 stats, "novel"))  # fmt: skip
            modes.append(bool(stats.speculation))
        assert modes == [False, True, False]  # measured plain, tried speculation, turned it off
    finally:
        for model in loaded:
            model.close()


def test_decode_speed_leaves_the_prompt_out() -> None:
    from sage.cascade.cascade import ModelCall

    cold = ModelCall("base", "m", "base", 80, 11, latency_ms=3000, outcome="spoken",
                     first_token_ms=2000)  # fmt: skip
    assert cold.decode_tokens_per_s == pytest.approx(10.0)
    assert ModelCall("base", "m", "base", 80, 1, 500, "spoken", 400).decode_tokens_per_s is None
    assert ModelCall("base", "m", "base", 80, 9, 500, "spoken").decode_tokens_per_s is None
