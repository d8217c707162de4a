"""Passing over a tier whose tries keep handing the answer over (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sage.cascade.handover import PRIOR_HANDOVERS, PRIOR_TRIES, RETRY_EVERY, WINDOW, HandOvers, pays


def test_a_try_pays_while_its_expected_time_beats_the_next_tier_alone() -> None:
    assert pays(0.5, 0.25)  # 0.5 + 0.25 of the next tier's time
    assert not pays(0.5, 0.5)  # as long as the next tier alone: no gain
    assert not pays(1.2, 0.0)  # slower even when never handing over


def test_the_rate_starts_at_the_prior_and_follows_each_domain_apart() -> None:
    handovers = HandOvers()
    assert handovers.rate("draft", "home") == PRIOR_HANDOVERS / PRIOR_TRIES
    for _ in range(3):
        handovers.record("draft", "home", True)
    handovers.record("draft", "code", False)
    assert handovers.rate("draft", "home") == (3 + PRIOR_HANDOVERS) / (3 + PRIOR_TRIES)
    assert handovers.rate("draft", "code") < PRIOR_HANDOVERS / PRIOR_TRIES


@given(st.lists(st.booleans(), max_size=3 * WINDOW))
def test_the_rate_is_a_probability_over_the_last_window_of_tries(tries: list[bool]) -> None:
    handovers = HandOvers()
    for handed_over in tries:
        handovers.record("draft", "general", handed_over)
    recent = tries[-WINDOW:]
    rate = handovers.rate("draft", "general")
    assert 0.0 < rate < 1.0
    assert rate == (sum(recent) + PRIOR_HANDOVERS) / (len(recent) + PRIOR_TRIES)


def test_nothing_is_passed_over_before_a_hand_over_was_timed() -> None:
    handovers = HandOvers()
    for _ in range(WINDOW):
        handovers.record("draft", "home", True)
    assert handovers.unpaying(["draft", "base"], "home") == set()
    handovers.compared("draft", 500.0, 1000.0)
    assert handovers.shares == {"draft": 0.5}
    assert handovers.unpaying(["draft", "base"], "home") == {"draft"}
    assert handovers.unpaying(["draft", "base"], "code") == set()  # the prior pays
    assert handovers.unpaying(["base"], "home") == set()  # the last tier always answers


def test_the_domains_a_tier_is_passed_over_for_are_listed_per_tier() -> None:
    handovers = HandOvers()
    for domain in ("math", "home", "code"):
        for _ in range(WINDOW):
            handovers.record("draft", domain, domain != "code")
    assert handovers.passed_over(["draft", "base"]) == {}  # no hand-over timed yet
    handovers.compared("draft", 500.0, 1000.0)
    assert handovers.passed_over(["draft", "base"]) == {"draft": ["home", "math"]}


def test_shares_are_smoothed_toward_the_newest() -> None:
    handovers = HandOvers()
    handovers.compared("draft", 400.0, 1000.0)
    handovers.compared("draft", 600.0, 1000.0)
    assert 0.4 < handovers.shares["draft"] < 0.6


def test_a_tier_passed_over_is_tried_again_one_request_in_retry_every() -> None:
    handovers = HandOvers()
    sat = [handovers.sits_out("draft", "home") for _ in range(2 * RETRY_EVERY)]
    assert sat == ([True] * (RETRY_EVERY - 1) + [False]) * 2
    assert handovers.sits_out("draft", "code")  # counted per domain
