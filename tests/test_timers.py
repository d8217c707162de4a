"""Timers: what sets, checks and cancels one, when it is said, and what survives."""

from __future__ import annotations

from pathlib import Path

import pytest

from sage.timers import Timers

NOW = 1_000_000.0


@pytest.mark.parametrize(
    ("said", "reply"),
    [
        ("Set a timer for five minutes.", "Okay, a 5 minute timer, starting now."),
        ("Five minute timer.", "Okay, a 5 minute timer, starting now."),
        (
            "Can you set a timer for 90 seconds please?",
            "Okay, a 1 minute 30 second timer, starting now.",
        ),  # fmt: skip
        ("Set a timer for an hour and a half.", "Okay, a 1 hour 30 minute timer, starting now."),
        ("Timer for 2 minutes and 30 seconds.", "Okay, a 2 minute 30 second timer, starting now."),
        ("Set a timer for half an hour.", "Okay, a 30 minute timer, starting now."),
        ("set the timer for 3 mins", "Okay, a 3 minute timer, starting now."),  # typed
        ("How much time do I have left?", "There's no timer running."),
        ("Set a timer.", "For how long? Say, for example, set a timer for 5 minutes."),
        ("Set a timer for 48 hours.", "I can set a timer for up to 24 hours."),
        ("How much time is left?", "There's no timer running."),
        ("Cancel the timer.", "There's no timer running."),
    ],
)
def test_what_sets_a_timer(tmp_path: Path, said: str, reply: str) -> None:
    assert Timers(tmp_path / "timers.json", live=True).answer(said, NOW) == reply


@pytest.mark.parametrize(
    "said", ["What's a timer?", "How do I set a timer in Python?", "Set an alarm for 7 AM."]
)
def test_what_is_not_about_a_timer_goes_on(tmp_path: Path, said: str) -> None:
    assert Timers(tmp_path / "timers.json", live=True).answer(said, NOW) is None


def test_a_timer_counts_down_runs_out_once_and_survives_a_restart(tmp_path: Path) -> None:
    kept = tmp_path / "timers.json"
    timers = Timers(kept, live=True)
    timers.answer("set a timer for 5 minutes", NOW)
    timers.answer("set a timer for 1 hour", NOW)
    assert timers.answer("How long is left on the timer?", NOW + 49) == (
        "There's 4 minutes and 11 seconds left on the 5 minute timer, and 59 minutes and 11 "
        "seconds left on the 1 hour timer."
    )
    restarted = Timers(kept, live=True)  # a restart keeps them
    assert restarted.due(NOW + 299) == []
    assert restarted.due(NOW + 300) == ["Your 5 minute timer is done."]
    assert restarted.due(NOW + 301) == []  # said once
    assert Timers(kept, live=True).answer("cancel the timer", NOW + 302) == (
        "I've cancelled the timer."
    )
    assert Timers(kept, live=True).timers == []


def test_a_one_shot_run_says_it_cannot_keep_a_timer(tmp_path: Path) -> None:
    timers = Timers(tmp_path / "timers.json", live=False)
    assert timers.answer("set a timer for 5 minutes", NOW) == (
        "I can only keep a timer while I run as a daemon: start me with sage run."
    )
    assert not (tmp_path / "timers.json").exists()


def test_a_corrupt_timers_file_loses_only_the_timers(tmp_path: Path) -> None:
    kept = tmp_path / "timers.json"
    kept.write_text("{not json")
    timers = Timers(kept, live=True)
    assert timers.timers == []
    assert timers.answer("set a timer for 1 minute", NOW) == "Okay, a 1 minute timer, starting now."
    assert Timers(kept, live=True).due(NOW + 60) == ["Your 1 minute timer is done."]


def test_an_unwritable_state_folder_keeps_the_timer_running(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    timers = Timers(blocked / "timers.json", live=True)  # its folder is a file
    assert timers.answer("set a timer for 1 minute", NOW) == "Okay, a 1 minute timer, starting now."
    assert timers.due(NOW + 60) == ["Your 1 minute timer is done."]
