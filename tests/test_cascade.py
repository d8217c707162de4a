"""The LLM cascade: tier selection (pure), token log-probs, escalation and early exit."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from sage.cascade.cascade import (
    SESSION_EXCHANGES,
    SESSION_KEPT,
    Cascade,
    Generation,
    is_empty_promise,
    select_tier,
    with_notes,
)
from sage.cascade.chat import ChatModel, Uncertainty
from sage.cascade.llama_thread import on_llama_thread
from sage.catalog import ModelCache
from sage.config import CascadeConfig, Config

COSTS = {"draft": 1.5, "base": 4.0}
BOTH = ["draft", "base"]


@pytest.mark.parametrize(
    ("context", "trust", "available", "budget", "expected"),
    [
        ("stable", {"draft": 0.7, "base": 0.8}, BOTH, 20, "draft"),  # cheapest trusted
        ("moving", {"draft": 0.7, "base": 0.8}, BOTH, 20, "draft"),
        ("stable", {"draft": 0.4, "base": 0.8}, BOTH, 20, "base"),  # draft not trusted here
        ("novel", {"draft": 0.9, "base": 0.8}, BOTH, 20, "base"),  # novel: most capable
        ("unstable", {"draft": 0.9, "base": 0.8}, BOTH, 20, "base"),
        (None, {"draft": 0.9, "base": 0.8}, BOTH, 20, "base"),  # no memory: be careful
        ("stable", {"draft": 0.3, "base": 0.4}, BOTH, 20, "base"),  # none trusted: most trusted
        ("stable", {"draft": 0.4, "base": 0.3}, BOTH, 20, "draft"),
        ("novel", {"draft": 0.9, "base": 0.8}, BOTH, 2, "draft"),  # base over budget
        ("novel", {"draft": 0.9, "base": 0.8}, BOTH, 0.5, "draft"),  # nothing fits: cheapest
        ("stable", {"draft": 0.9, "base": 0.8}, ["base"], 20, "base"),
    ],
)
def test_select_tier(context: str | None, trust: dict[str, float], available: list[str],
                     budget: float, expected: str) -> None:  # fmt: skip
    assert select_tier(context, trust, COSTS, available, budget, 0.55) == expected


def test_a_tier_passed_over_leaves_the_next_trusted_one() -> None:
    trusted = {"draft": 0.7, "base": 0.8}
    assert select_tier("stable", trusted, COSTS, BOTH, 20, 0.55, {"draft"}) == "base"
    # none trusted but the one passed over: the most trusted answers, as before
    assert select_tier("stable", {"draft": 0.7, "base": 0.3}, COSTS, BOTH, 20, 0.55, {"draft"}) == (
        "draft"
    )


def test_uncertainty_statistics() -> None:
    sure = Uncertainty.of([np.log(0.99)] * 20)
    one_doubt = Uncertainty.of([np.log(0.99)] * 19 + [np.log(0.05)])
    assert sure.low_prob == pytest.approx(0.99) and sure.surprise == pytest.approx(0.01)
    assert one_doubt.min_prob == pytest.approx(0.05)
    assert one_doubt.mean_nll > sure.mean_nll
    assert Uncertainty.of([]).tokens == 0 and Uncertainty.of([]).surprise == 0.0


@pytest.fixture(scope="module")
def tiny(models: ModelCache) -> Iterator[ChatModel]:
    model = ChatModel(models.path("tiny"), 1024, 2, role="tiny")
    yield model
    model.close()


MESSAGES = [
    {"role": "system", "content": "Answer in one short sentence."},
    {"role": "user", "content": "What colour is the sky on a clear day?"},
]


def test_stream_matches_llamas_own_greedy_text(tiny: ChatModel) -> None:
    ours = "".join(piece for piece, _ in tiny.stream(MESSAGES, 40))
    theirs = tiny.llm.create_chat_completion(messages=MESSAGES, max_tokens=40, temperature=0.0)
    assert ours.strip() == theirs["choices"][0]["message"]["content"].strip()  # type: ignore[index]


def test_logprobs_are_aligned_with_the_tokens_they_score(
    models: ModelCache, tiny: ChatModel
) -> None:
    """Each recorded log-prob equals the reference log-softmax of the row before its token."""
    import llama_cpp

    tiny.llm.reset()  # evaluate the prompt in one batch, as the reference does
    prompt, _ = tiny.prompt_tokens(MESSAGES)
    recorded = list(tiny.stream(MESSAGES, 12))
    generated = [tiny.llm.tokenize(p.encode(), add_bos=False, special=True) for p, _ in recorded]
    if any(len(g) != 1 for g in generated):
        pytest.skip("a piece re-tokenised to several tokens; alignment check needs 1:1")
    tokens = prompt + [g[0] for g in generated]
    reference = llama_cpp.Llama(str(models.path("tiny")), n_ctx=1024, logits_all=True,
                                verbose=False)  # fmt: skip
    try:
        reference.eval(prompt)
        for token in tokens[len(prompt) :]:
            reference.eval([token])
        scores = np.asarray(reference.scores[: len(tokens)], dtype=np.float64)
    finally:
        reference.close()

    def logprob(row: np.ndarray, token: int) -> float:
        return float(row[token] - (row.max() + np.log(np.exp(row - row.max()).sum())))

    for i, (_, recorded_logprob) in enumerate(recorded):
        at = len(prompt) + i
        assert recorded_logprob == pytest.approx(logprob(scores[at - 1], tokens[at]), abs=1e-3)
        # one position off (what echo=True gives) is far away
        assert abs(recorded_logprob - logprob(scores[at], tokens[at])) > 1.0


@pytest.fixture(scope="module")
def cascade_models(models: ModelCache) -> Iterator[dict[str, ChatModel]]:
    loaded = {tier: ChatModel(models.path(tier), 2048, 2, role=tier) for tier in ("draft", "base")}
    yield loaded
    for model in loaded.values():
        model.close()


def make_cascade(models: dict[str, ChatModel], **cascade: object) -> tuple[Cascade, list[str]]:
    config = Config(cascade=dataclasses.replace(CascadeConfig(), **cascade))  # type: ignore[arg-type]
    unsure: list[str] = []
    return Cascade(
        config,
        load=lambda tier, role, draft: models[tier],
        trust=lambda context, tier: 0.9,
        on_unsure=lambda context, tier: unsure.append(tier),
    ), unsure


def test_trusted_context_is_answered_by_the_draft(cascade_models: dict[str, ChatModel]) -> None:
    cascade, unsure = make_cascade(cascade_models, escalate_low_prob=0.0, escalate_mean_nll=99.0)
    stats = Generation()
    reply = " ".join(cascade.respond("What is the capital of France?", stats, "stable"))
    assert "Paris" in reply
    assert (stats.tier, stats.escalated_from, unsure) == ("draft", None, [])
    assert [c.outcome for c in stats.calls] == ["spoken"]
    assert stats.uncertainty.tokens == len(stats.logprobs) > 0


def test_unsure_draft_is_not_spoken_and_the_base_answers(
    cascade_models: dict[str, ChatModel],
) -> None:
    cascade, unsure = make_cascade(cascade_models, escalate_low_prob=0.999)
    stats = Generation()
    reply = " ".join(cascade.respond("What is the capital of France?", stats, "stable"))
    assert "Paris" in reply
    assert (stats.tier, stats.escalated_from, unsure) == ("base", "draft", ["draft"])
    assert [(c.tier, c.outcome) for c in stats.calls] == [
        ("draft", "escalated"),
        ("base", "spoken"),
    ]


def test_a_draft_that_keeps_handing_home_requests_over_is_passed_over_for_them(
    cascade_models: dict[str, ChatModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    cascade, _ = make_cascade(cascade_models, escalate_low_prob=0.999)  # the draft always unsure

    def calls(text: str) -> list[tuple[str, str]]:
        stats = Generation()
        list(cascade.respond(text, stats, "stable"))
        return [(c.tier, c.outcome) for c in stats.calls]

    tried = [("draft", "escalated"), ("base", "spoken")]
    assert calls("What does a thermostat control?") == tried
    assert cascade.handovers.shares["draft"] > 0  # its first sentence against the base's
    # The measured times vary; pinned, the draft pays while under half of its tries hand over.
    cascade.handovers.shares = {"draft": 0.5}
    monkeypatch.setattr(cascade.handovers, "compared", lambda tier, ms, next_ms: None)
    assert calls("What does a thermostat control?") == tried  # 2 of 5 with the prior
    assert cascade.passed_over == {"draft": ["home"]}  # what `sage status` shows
    assert calls("Why does my kettle have limescale?") == [("base", "spoken")]  # 3 of 6
    assert calls("What is the capital of France?") == tried  # another domain's draft is tried


def test_the_conversation_is_dropped_in_a_block_so_its_cached_prefix_holds() -> None:
    def load(tier: str, role: str, draft: object) -> ChatModel:
        raise AssertionError("no model is needed to remember an exchange")

    cascade = Cascade(Config(), load=load, session_fresh_s=60.0)
    for n in range(SESSION_EXCHANGES):
        cascade._converse(f"question {n}", f"answer {n}")  # as the models' own answers are
    assert len(cascade.session) == 2 * SESSION_EXCHANGES
    cascade._converse("one more", "answer")
    assert len(cascade.session) == 2 * SESSION_KEPT  # not one dropped at every turn
    assert cascade.session[-2:] == [{"role": "user", "content": "one more"},
                                    {"role": "assistant", "content": "answer"}]  # fmt: skip
    one_shot = Cascade(Config(), load=load)  # `sage ask`: no conversation
    one_shot.remember("question", "answer")
    assert one_shot.session == []


def test_only_the_latest_exchange_answered_without_the_models_is_kept() -> None:
    def load(tier: str, role: str, draft: object) -> ChatModel:
        raise AssertionError("no model is needed to remember an exchange")

    cascade = Cascade(Config(), load=load, session_fresh_s=60.0)
    cascade._converse("What is the capital of France?", "Paris.")  # in the models' cache
    cascade.remember("What's 12 times 12?", "12 times 12 is 144.")
    cascade.remember("What time is it?", "It's 3:05 PM.")  # replaces the sum: not in cache
    said = [m["content"] for m in cascade.session]
    assert said == ["What is the capital of France?", "Paris.", "What time is it?", "It's 3:05 PM."]


def test_an_exchange_answered_without_the_models_is_in_the_conversation_and_the_caches(
    cascade_models: dict[str, ChatModel],
) -> None:
    """After a turn every local model's cache is brought up to the conversation: the
    draft's too when the base answered, and the exchange tier 0.5 answered."""
    config = Config(cascade=CascadeConfig(speculation="off"))
    cascade = Cascade(config, load=lambda tier, role, draft: cascade_models[tier],
                      session_fresh_s=60.0)  # fmt: skip
    cascade.warm()  # both tiers loaded, as in the daemon
    list(cascade.respond("What is the capital of France?", Generation(), "novel"))  # the base
    cascade.remember("What is 12 times 12?", "12 times 12 is 144.")  # tier 0.5's answer
    cascade.prime()
    on_llama_thread(lambda: None)  # waits for the queued evaluations
    for model in cascade_models.values():
        conversation, _ = model.prompt_tokens([*cascade.standing(), *cascade.session])
        assert model.llm.input_ids[: model.llm.n_tokens].tolist() == conversation
    reply = " ".join(cascade.respond("What number did you just tell me?", Generation(), "novel"))
    assert "144" in reply


def test_novel_context_goes_to_the_base(cascade_models: dict[str, ChatModel]) -> None:
    cascade, _ = make_cascade(cascade_models)
    stats = Generation()
    list(cascade.respond("What is the capital of France?", stats, "novel"))
    assert [c.tier for c in stats.calls] == ["base"]


def test_spoken_length_stops_generation_early(cascade_models: dict[str, ChatModel]) -> None:
    cascade, _ = make_cascade(cascade_models, max_sentences=1, escalate_low_prob=0.0,
                              escalate_mean_nll=99.0)  # fmt: skip
    stats = Generation()
    # The clause is asked for in words: the base's own first sentence differs between
    # llama.cpp builds (AVX2 and AVX-512 round near-ties apart).
    request = (
        "Starting with the words 'As far as scientists can tell,' tell me three facts about"
        " the moon."
    )
    sentences = list(cascade.respond(request, stats, "novel"))
    # the voice started on the first clause; the answer ends where its sentence does
    assert sentences[0].endswith(",") and len(sentences) == 2 and sentences[1].endswith(".")
    assert stats.calls[0].completion_tokens < 40  # stopped at the boundary, not at max_tokens


def test_an_unsure_answer_stops_at_a_sentence_end_not_after_a_spoken_clause(
    cascade_models: dict[str, ChatModel],
) -> None:
    cascade, _ = make_cascade(cascade_models, escalate_low_prob=0.999)  # every token unsure
    stats = Generation()
    sentences = list(cascade.respond("Why is the sky blue?", stats, "novel"))  # base: no escalation
    assert sentences[0].endswith(",") and len(sentences) == 2 and sentences[1].endswith(".")


def test_a_joke_asked_for_is_told_by_the_base_to_its_punchline(
    cascade_models: dict[str, ChatModel],
) -> None:
    """Made-up words are unsure by nature: a joke was cut before its punchline ("Why did
    the cat refuse to eat the fish?"), and the draft told stories badly."""
    cascade, _ = make_cascade(cascade_models, escalate_low_prob=0.999)  # every token unsure
    stats = Generation()
    sentences = list(cascade.respond("Tell me a joke about cats.", stats, "stable"))
    assert stats.tier == "base" and stats.escalated_from is None
    assert len(sentences) >= 2 and sentences[0].endswith("?")


@pytest.mark.parametrize(
    ("sentence", "asked", "empty"),
    [("Sure, I can help you with that.", "Order more coffee.", True),
     ("Sure, I can help you make it warmer in here.", "Could you make it warmer?", True),
     ("Sure, I'll order more coffee.", "Order more coffee.", True),
     ("Okay, I'll explain how it works.", "Explain how the oven works.", False),
     ("Sure, I can help you with your homework.", "Can you help me with my homework?", False),
     ("I can help you with that by suggesting a thermostat setting of twenty one degrees "
      "today.", "Make it warmer.", False),  # it says something
     ("Certainly!", "Can you plan a dinner party?", False)],
)  # fmt: skip
def test_what_is_an_empty_promise(sentence: str, asked: str, empty: bool) -> None:
    assert is_empty_promise(sentence, asked) is empty


def test_a_line_already_said_ends_the_answer(models: ModelCache) -> None:
    """SmolLM2-135M, greedy, says "A cat with a tail as long as a spider's," 13 times."""
    tiny = ChatModel(models.path("tiny"), 2048, 2, role="base")
    config = Config(cascade=dataclasses.replace(CascadeConfig(), draft_role=""))
    cascade = Cascade(config, load=lambda tier, role, draft: tiny)
    try:
        said = list(cascade.respond("Write a poem about cats.", Generation(), "stable"))
    finally:
        tiny.close()
    assert said and len(set(said)) == len(said)


def test_a_missing_base_leaves_the_draft_serving(cascade_models: dict[str, ChatModel]) -> None:
    from sage.errors import ModelError

    def load(tier: str, role: str, draft: object) -> ChatModel:
        if tier == "base":
            raise ModelError("base model is missing; run `sage models install`")
        return cascade_models[tier]

    cascade = Cascade(Config(cascade=CascadeConfig(speculation="off")), load=load)
    cascade.warm()
    assert cascade.available == ["draft"]
    stats = Generation()
    assert "Paris" in " ".join(cascade.respond("What is the capital of France?", stats, "novel"))
    assert stats.tier == "draft"


def test_no_loadable_tier_is_an_error(cascade_models: dict[str, ChatModel]) -> None:
    from sage.errors import ModelError

    def load(tier: str, role: str, draft: object) -> ChatModel:
        raise ModelError(f"{tier} missing")

    with pytest.raises(ModelError, match="missing"):
        Cascade(Config(), load=load).warm()


def test_the_role_registry_loads_a_file_by_path_with_its_settings_and_falls_back(
    models: ModelCache, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sage.audio.io import NullSink
    from sage.config import LlmConfig, PathsConfig, RoleConfig
    from sage.patterns.rules import DEFAULT_RULES, load_rules
    from sage.pipeline import Pipeline

    config = Config(
        paths=PathsConfig(cache_dir=Config().paths.cache_dir, state_dir=tmp_path),
        llm=LlmConfig(role="base", n_ctx=1024, threads=2),
        cascade=CascadeConfig(draft_role="", speculation="off"),
        roles={
            "base": RoleConfig(model=str(tmp_path / "gone.gguf"), fallback="small"),
            "small": RoleConfig(model=str(models.path("tiny")), n_ctx=512, threads=1),
        },
    )
    pipeline = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink())
    turn = pipeline.ask("What is the capital of France?")
    assert turn.route == "llm" and turn.reply and turn.error is None
    cascade = pipeline.responder()
    base = cascade.model("base")  # type: ignore[attr-defined]
    assert base.name == models.path("tiny").name and base.llm.n_ctx() == 512
    assert [r.message for r in caplog.records if "fallback" in r.message] == [
        f"base model unusable (model file {tmp_path / 'gone.gguf'} does not exist); "
        "loading its fallback small"
    ]
    pipeline.close()


def test_a_request_about_harm_carries_the_hosts_emergency_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The base said "call 911 immediately" to a heart attack whatever the country."""
    when = datetime(2031, 3, 4, 9, 5)
    monkeypatch.setenv("TZ", "Europe/London")
    assert with_notes("I think I'm having a heart attack.", when) == (
        "I think I'm having a heart attack.\n"
        "(In the United Kingdom, the emergency number is 999; 112 works too.)"
    )
    assert with_notes("How do I treat a minor burn?", when) == "How do I treat a minor burn?"
    monkeypatch.setenv("TZ", "UTC")  # no country known: no note rather than a guess
    assert with_notes("My kid swallowed a battery.", when) == "My kid swallowed a battery."


def test_a_request_about_the_present_carries_the_date(cascade_models: dict[str, ChatModel]) -> None:
    assert with_notes("What is the capital of France?", datetime(2031, 3, 4, 9, 5)) == (
        "What is the capital of France?"  # nothing about now: the prompt stays short
    )
    # typed in Spanish, the base said "La hora es 14:30." at 10:54
    assert with_notes("¿Qué hora es?", datetime(2031, 3, 4, 9, 5)).endswith(
        "(It is Tuesday, March 4, 2031, 9:05 AM.)"
    )
    config = Config(cascade=dataclasses.replace(CascadeConfig(), escalate_low_prob=0.0,
                                                escalate_mean_nll=99.0))  # fmt: skip
    cascade = Cascade(config, load=lambda tier, role, draft: cascade_models[tier],
                      clock=lambda: datetime(2031, 3, 4, 9, 5))  # fmt: skip
    reply = " ".join(cascade.respond("What year is it now?", Generation(), "novel"))
    assert "2031" in reply  # a year no model guesses: it came from the clock
