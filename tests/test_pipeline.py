"""Pipeline helpers: typed-input validation, the worker-thread hand-over, follow-ups."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sage.audio.io import NullSink
from sage.catalog import ModelCache
from sage.config import Config
from sage.errors import InputTextError
from sage.lists import Lists
from sage.metabolism.metabolism import Metabolism
from sage.metabolism.states import STATES_DIR, load_settings
from sage.notes import Notes
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.pipeline import (
    BEST_ANSWER_REPLY,
    FOLLOW_UP_S,
    MISHEARD_REPLY,
    NOTHING_ASKED_REPLY,
    START_OVER_REPLY,
    THINK_AGAIN,
    Pipeline,
    clean_text,
    threaded,
)
from sage.timers import Timers
from sage.trust.store import Store


@pytest.mark.parametrize(
    ("text", "expected"),
    [("  what\ttime\nis it ", "what time is it"), ("héllo wörld", "héllo wörld"), ("42", "42")],
)
def test_clean_text(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "?!.,", "\x00\x1b[2J", "x" * 1001])
def test_clean_text_rejects(text: str) -> None:
    with pytest.raises(InputTextError):
        clean_text(text)


def test_threaded_hands_over_items_and_errors() -> None:
    assert list(threaded(iter(range(50)), maxsize=2)) == list(range(50))

    def failing() -> object:
        yield 1
        raise ValueError("boom")

    got: list[int] = []
    with pytest.raises(ValueError, match="boom"):
        for item in threaded(failing(), maxsize=2):  # type: ignore[arg-type]
            got.append(item)
    assert got == [1]


def test_threaded_consumer_stopping_early_closes_the_producer() -> None:
    closed: list[bool] = []

    def endless() -> object:
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.append(True)

    stream = threaded(endless(), maxsize=2)  # type: ignore[arg-type]
    assert next(stream) == 1
    stream.close()  # type: ignore[attr-defined]
    assert closed == [True]


def test_a_cut_off_sum_is_asked_back_and_finished_by_the_next_utterance(
    config: Config, models: ModelCache
) -> None:
    now = [datetime(2026, 11, 22, 9, 0)]
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink(), clock=lambda: now[0])
    try:
        asked = pipe.ask("What is 3 plus")
        assert (asked.reply, asked.tier) == ("3 plus what?", "deterministic")
        assert pipe.ask("four").reply == "3 plus 4 is 7."
        pipe.ask("what is 12 times")
        assert pipe.ask("what is 2 times 5").reply == "2 times 5 is 10."  # a question of its own
        pipe.ask("what is 12 times")
        now[0] += timedelta(seconds=FOLLOW_UP_S + 1)
        late = pipe.ask("3")
        assert late.route != "deterministic"  # too late: "3" alone is not finished off
        assert pipe.ask("five").route != "deterministic"  # the question is asked back once
    finally:
        pipe.close()


def test_an_exact_answer_can_be_followed_on_from(config: Config, models: ModelCache) -> None:
    now = [datetime(2026, 11, 22, 9, 0)]
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink(), clock=lambda: now[0])
    try:
        pipe.ask("What's 12 times 12?")
        followed = pipe.ask("And times 3?")  # the base said "3 times 3 equals 9."
        assert (followed.reply, followed.tier) == ("144 times 3 is 432.", "deterministic")
        assert pipe.ask("and plus 8").reply == "432 plus 8 is 440."  # on from the last one
        pipe.ask("How many days until Friday?")
        assert pipe.ask("What about Sunday?").reply == "7 days until Sunday, November 29."
    finally:
        pipe.close()


def test_start_over_closes_the_conversation(config: Config, models: ModelCache) -> None:
    """The base said "Sure, I'll start over." and kept the conversation."""
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink())
    try:
        pipe.ask("What's 12 times 12?")
        over = pipe.ask("Let's start over.")
        assert (over.reply, over.rule) == (START_OVER_REPLY, "start_over")
        assert pipe.ask("And times 3?").reply != "144 times 3 is 432."  # nothing to go on from
    finally:
        pipe.close()


def test_an_action_never_enters_the_models_conversation(
    config: Config, models: ModelCache, tmp_path: Path
) -> None:
    """The models see an exact answer, never an action's ("Okay, a 5 minute timer"),
    lest they learn to claim one."""
    store = Store(tmp_path / "sage.db")
    metabolism = Metabolism(load_settings(STATES_DIR), store, tmp_path / "status.json", 0.0)
    timers = Timers(tmp_path / "timers.json", live=True)
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink(), store=store,
                    metabolism=metabolism, timers=timers,
                    lists=Lists(tmp_path / "lists.json"),
                    notes=Notes(tmp_path / "notes.json"))  # fmt: skip
    try:
        pipe.responder()  # the daemon's conversation, kept for follow-ups
        pipe.ask("What is 2 plus 2?")
        assert pipe.ask("Set a timer for 5 minutes.").rule == "timer"
        assert pipe.ask("Add milk to my shopping list.").rule == "lists"
        assert pipe.ask("Remember that my car is on level 3.").rule == "notes"
        assert pipe.ask("Turn it down.").rule == "voice"
        assert [m["content"] for m in pipe.responder().session] == [
            "What is 2 plus 2?", "2 plus 2 is 4."
        ]  # fmt: skip
    finally:
        pipe.close()


def test_stop_listening_answers_and_keeps_nothing_until_start_listening(
    config: Config, models: ModelCache, tmp_path: Path
) -> None:
    """The base said "Understood." and went on answering."""
    store = Store(tmp_path / "sage.db")
    status = tmp_path / "status.json"
    metabolism = Metabolism(load_settings(STATES_DIR), store, status, 0.0)
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink(), store=store,
                    metabolism=metabolism)  # fmt: skip
    try:
        said = pipe.ask("Stop listening.").reply
        assert said == "Okay, I'll stop listening until you say: start listening."
        assert json.loads(status.read_text())["listening"] is False
        unheard = pipe.ask("What is 2 plus 2?")
        assert (unheard.route, unheard.reply, unheard.transcript) == ("none", "", "")
        assert pipe.ask("Start listening.").reply == "I'm listening."
        assert pipe.ask("What is 2 plus 2?").reply == "2 plus 2 is 4."
        assert pipe.ask("Are you listening?").reply == "Yes, I'm listening."
    finally:
        pipe.close()
    assert Store(tmp_path / "sage.db").history() == [
        "Are you listening?", "What is 2 plus 2?", "Start listening.", "Stop listening."
    ]  # fmt: skip


def test_a_one_shot_run_says_it_has_no_listening_to_stop(
    config: Config, models: ModelCache
) -> None:
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink())
    try:
        said = pipe.ask("Stop listening.").reply
        assert said == "I only listen when I run as a daemon: start me with sage run."
        assert pipe.ask("What is 2 plus 2?").reply == "2 plus 2 is 4."
    finally:
        pipe.close()


def test_what_did_you_say_repeats_the_last_reply(config: Config, models: ModelCache) -> None:
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink())
    try:
        assert pipe.ask("Pardon?").reply == "I haven't said anything yet."
        said = pipe.ask("What is 17 times 23?").reply
        assert said == "17 times 23 is 391."
        assert pipe.ask("What did you say?").reply == said
        assert pipe.ask("Say that again.").reply == said  # still the answer, not "what?"
        # the base said "I asked you how to reverse a string in Python." after another question
        assert pipe.ask("What did I just ask?").reply == "You said: Say that again."
        pipe.ask("Turn it down.")
        assert pipe.ask("What did I just say?").reply == "You said: Turn it down."
        assert pipe.ask("What was my last question?").reply == "You said: Turn it down."
    finally:
        pipe.close()


def test_that_is_wrong_is_answered_by_where_the_answer_came_from(
    config: Config, models: ModelCache, tmp_path: Path
) -> None:
    """Told "that's wrong", the base had said "I apologize for the mistake." and the same
    answer, every time. An exact answer was perhaps misheard; the base's is not said again;
    the draft's is taken back and the base answers the question again."""
    store = Store(tmp_path / "sage.db")
    metabolism = Metabolism(load_settings(STATES_DIR), store, tmp_path / "status.json", 0.0)
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink(), store=store,
                    metabolism=metabolism)  # fmt: skip
    try:
        pipe.ask("What is 17 times 23?")
        assert pipe.ask("No, that's wrong.").reply == MISHEARD_REPLY
        assert pipe.ask("That's wrong.").reply == MISHEARD_REPLY  # still of the sum
        assert pipe.ask("What is the capital of France?").tier == "base"  # a novel request
        assert pipe.ask("What is the capital of Spain?").tier == "draft"  # a known kind
        again = pipe.ask("That's wrong.")
        assert (again.rule, again.tier, again.transcript) == (
            "correction", "base", "What is the capital of Spain?"
        )  # fmt: skip
        assert again.reply.startswith(THINK_AGAIN) and "Madrid" in again.reply
        asked = [m["content"] for m in pipe.responder().session if m["role"] == "user"]
        assert asked.count("What is the capital of Spain?") == 1  # the draft's answer is gone
        assert pipe.ask("You're wrong.").reply == BEST_ANSWER_REPLY  # the base's, now
        assert pipe.ask("No.").rule != "correction"  # a bare no may answer a question
    finally:
        pipe.close()


def test_a_yes_with_nothing_asked_is_said_to_be_so(config: Config, models: ModelCache) -> None:
    """After a refusal, the base had answered "Yes." with "Restarting the device."."""
    pipe = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink())
    try:
        pipe.ask("Reboot the computer.")
        yes = pipe.ask("Yes.")
        assert (yes.rule, yes.reply) == ("nothing_asked", NOTHING_ASKED_REPLY)
        assert pipe.ask("Yeah, go ahead.").rule == "nothing_asked"
        assert pipe.ask("What is 3 plus").reply == "3 plus what?"
        assert pipe.ask("Yes.").rule != "nothing_asked"  # a question was asked: it goes on
    finally:
        pipe.close()
