"""Timers, alarms and reminders: what sets, checks and cancels one, when it is said, and
what survives a restart or a bad state folder."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sage.timers import Timers


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clock times are the host's: these tests read them in UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


NINE_AM = datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()
"""Monday, November 23, 2026, 9:00 AM UTC."""


def timers(tmp_path: Path, live: bool = True) -> Timers:
    return Timers(tmp_path / "timers.json", live=live)


@pytest.mark.parametrize(
    ("said", "reply"),
    [
        ("Set a timer for five minutes.", "Okay, a 5 minute timer, starting now."),
        ("Five minute timer.", "Okay, a 5 minute timer, starting now."),
        ("Can you set a timer for 90 seconds please?",
         "Okay, a 1 minute 30 second timer, starting now."),
        ("Set a timer for an hour and a half.", "Okay, a 1 hour 30 minute timer, starting now."),
        ("Timer for 2 minutes and 30 seconds.", "Okay, a 2 minute 30 second timer, starting now."),
        ("Set a timer for half an hour.", "Okay, a 30 minute timer, starting now."),
        ("set the timer for 3 mins", "Okay, a 3 minute timer, starting now."),  # typed
        ("Set a timer.", "For how long? Say, for example, set a timer for 5 minutes."),
        ("Set a timer for one and a half hours.", "Okay, a 1 hour 30 minute timer, starting now."),
        # whisper's hearing of it, which had gone on to no_timers
        ("Set a timer for 1.5 hours.", "Okay, a 1 hour 30 minute timer, starting now."),
        ("Set a timer for 9000 hours.",
         "I can keep a timer, an alarm or a reminder for up to a year ahead."),
        ("Remind me to call the dentist tomorrow at 9.",
         "Okay, I'll remind you to call the dentist at 9 AM tomorrow."),
        ("Remind me on Friday at 5 PM to pay the rent.",
         "Okay, I'll remind you to pay the rent at 5 PM on Friday."),
        ("Set an alarm for 7 on Monday.",  # said on a Monday: next week's
         "Okay, an alarm at 7 AM on Monday, November 30."),
        ("Set an alarm for 7 on Sunday.", "Okay, an alarm at 7 AM on Sunday."),
        # it had been set for 9 AM tomorrow, "to call the dentist on december 3rd"
        ("Remind me to call the dentist on December 3rd at 9 AM.",
         "Okay, I'll remind you to call the dentist at 9 AM on Thursday, December 3."),
        ("Set an alarm for 6 on the twenty-first of December.",
         "Okay, an alarm at 6 AM on Monday, December 21."),
        # a day without a time: 9 AM, said back
        ("Remind me on the 1st to pay the rent.",
         "Okay, I'll remind you to pay the rent at 9 AM on Tuesday, December 1."),
        ("Remind me tomorrow to call Mom.", "Okay, I'll remind you to call mom at 9 AM tomorrow."),
        ("Remind me every day to water the plants.",
         "Okay, I'll remind you to water the plants at 9 AM every day."),
        ("Remind me on February 30 to pay the rent.",
         "There's no february 30 on the calendar."),
        ("Remind me on the 23rd at 8 AM to pay the rent.", "That time has already passed."),
        ("Wake me up at 7 every day.", "Okay, an alarm at 7 AM every day."),
        # the base said "Sure, I'll remind you." and kept nothing
        ("Wake me up at 7.", "Okay, an alarm at 7 AM tomorrow."),  # waking is in the morning
        ("Set an alarm for 7.", "Okay, an alarm at 7 PM."),  # the next 7
        ("Set an alarm for 6:30 AM.", "Okay, an alarm at 6:30 AM tomorrow."),
        # whisper's "six thirty" and "cancel", which had reached no_timers and the base
        ("Wake me up tomorrow at 630.", "Okay, an alarm at 6:30 AM tomorrow."),
        ("Remind me at 6.30 PM to eat.", "Okay, I'll remind you to eat at 6:30 PM."),
        ("Canceled the alarm.", "There's no alarm set."),
        ("Set a timer for 100 seconds.", "Okay, a 1 minute 40 second timer, starting now."),
        ("Remind me to call my mom at 6 PM.", "Okay, I'll remind you to call your mom at 6 PM."),
        ("Remind me in 10 minutes to check the oven.",
         "Okay, I'll remind you to check the oven at 9:10 AM."),
        ("In an hour, remind me to move the car.",
         "Okay, I'll remind you to move the car at 10 AM."),
        ("How much time do I have left?", "There's no timer, alarm or reminder set."),
        ("Cancel the alarm.", "There's no alarm set."),
        ("Set a pasta timer for 10 minutes.", "Okay, a pasta timer for 10 minutes, starting now."),
        ("Set a timer for 8 minutes for the eggs.",
         "Okay, an eggs timer for 8 minutes, starting now."),
        ("Set an 18 minute timer called rice.", "Okay, a rice timer for 18 minutes, starting now."),
        ("Set a timer for 11 minutes.", "Okay, an 11 minute timer, starting now."),
        # the base said "The pasta timer is currently set for 10 minutes."
        ("How long is left on the pasta timer?", "There's no pasta timer set."),
        # it said "I'll add 5 minutes to the timer.", "I'll pause the timer.", "I'll snooze"
        ("Add 5 minutes to the timer.", "There's no timer set."),
        ("Pause the timer.", "I can't pause one. I can set, check, add time to, snooze and "
         "cancel timers, alarms and reminders."),
        ("Snooze.", "There's nothing ringing to snooze."),
        # the base said "I don't have any reminders for today." whatever was set
        ("Any reminders for today?", "There's no reminder set for today."),
    ],
)  # fmt: skip
def test_what_sets_one(tmp_path: Path, said: str, reply: str) -> None:
    assert timers(tmp_path).answer(said, NINE_AM) == reply


@pytest.mark.parametrize(
    "said",
    ["What's a timer?", "How do I set a timer in Python?", "Set an alarm.",
     "Remind me to call Mom.", "Set an alarm for 25.", "Set an alarm for tomorrow."],
)  # fmt: skip
def test_what_it_cannot_place_goes_on(tmp_path: Path, said: str) -> None:
    assert timers(tmp_path).answer(said, NINE_AM) is None


def test_each_is_said_once_when_due_and_survives_a_restart(tmp_path: Path) -> None:
    kept = timers(tmp_path)
    kept.answer("set a timer for 5 minutes", NINE_AM)
    kept.answer("remind me to water the plants in 1 hour", NINE_AM)
    kept.answer("wake me up at 7", NINE_AM)
    assert kept.answer("How much time is left?", NINE_AM + 49) == (
        "There's 4 minutes and 11 seconds left on the 5 minute timer, and the reminder to water "
        "the plants at 10 AM, in 59 minutes and 11 seconds, and the 7 AM alarm tomorrow, in 21 "
        "hours and 59 minutes."
    )
    restarted = timers(tmp_path)  # a restart keeps them
    assert restarted.due(NINE_AM + 299) == []
    assert restarted.due(NINE_AM + 300) == ["Your 5 minute timer is done."]
    assert restarted.due(NINE_AM + 301) == []  # said once
    assert restarted.due(NINE_AM + 3600) == ["A reminder: water the plants."]
    assert timers(tmp_path).answer("cancel the alarm", NINE_AM + 3601) == (
        "I've cancelled the 7 AM alarm."
    )
    assert timers(tmp_path).timers == []


def test_what_is_set_is_listed_by_kind_and_day(tmp_path: Path) -> None:
    """Timers by the time left; alarms and reminders by when they are due."""
    kept = timers(tmp_path)
    for said in (
        "set a timer for 10 minutes",
        "wake me up at 7 every weekday",
        "remind me to call the plumber at 5 PM",
        "remind me on the 1st to pay the rent",
    ):
        kept.answer(said, NINE_AM)
    assert kept.answer("What alarms do I have?", NINE_AM) == (
        "There's the 7 AM alarm every weekday, in 22 hours."
    )
    assert kept.answer("How long is left on the timer?", NINE_AM) == (
        "There's 10 minutes left on the 10 minute timer."
    )
    assert kept.answer("Any reminders for today?", NINE_AM) == (
        "There's the reminder to call the plumber at 5 PM, in 8 hours."
    )
    assert kept.answer("What reminders do I have?", NINE_AM) == (
        "There's the reminder to call the plumber at 5 PM, in 8 hours, and the reminder to pay "
        "the rent at 9 AM on Tuesday, December 1."
    )
    assert "A reminder: pay the rent." in timers(tmp_path).due(
        datetime(2026, 12, 1, 9, tzinfo=UTC).timestamp()
    )


def test_named_timers_are_checked_extended_and_cancelled_by_name(tmp_path: Path) -> None:
    kept = timers(tmp_path)
    kept.answer("set a pasta timer for 10 minutes", NINE_AM)
    kept.answer("set a timer for 4 minutes for the eggs", NINE_AM)
    kept.answer("set an alarm for 7:30 AM", NINE_AM)
    assert kept.answer("Add 5 minutes to the timer.", NINE_AM) == (
        "Which one? There's the pasta timer and the eggs timer."
    )
    assert kept.answer("Add 2 minutes to the eggs timer.", NINE_AM + 60) == (
        "Okay, the eggs timer has 5 minutes left."
    )
    assert kept.answer("How long is left on the pasta timer?", NINE_AM + 60) == (
        "There's 9 minutes left on the pasta timer."
    )
    assert kept.answer("Cancel the pasta timer.", NINE_AM + 60) == (
        "I've cancelled the pasta timer."
    )
    assert kept.answer("Cancel the 7:30 AM alarm.", NINE_AM + 60) == (
        "I've cancelled the 7:30 AM alarm."
    )
    assert timers(tmp_path).due(NINE_AM + 360) == ["Your eggs timer is done."]


def test_what_rang_can_be_snoozed_for_ten_minutes(tmp_path: Path) -> None:
    kept = timers(tmp_path)
    kept.answer("set a timer for 1 minute", NINE_AM)
    assert kept.due(NINE_AM + 60) == ["Your 1 minute timer is done."]
    assert kept.answer("Snooze.", NINE_AM + 70) == "Okay, I'll say it again in 10 minutes."
    assert kept.due(NINE_AM + 669) == []
    assert kept.due(NINE_AM + 670) == ["This is your 1 minute timer again."]
    assert kept.answer("Snooze for 5 minutes.", NINE_AM + 671) == (
        "Okay, I'll say it again in 5 minutes."
    )
    assert kept.due(NINE_AM + 971) == ["This is your 1 minute timer again."]
    assert kept.answer("Snooze.", NINE_AM + 971 + 601) == "There's nothing ringing to snooze."


def test_a_repeating_alarm_is_set_again_each_day_it_is_said(tmp_path: Path) -> None:
    """Monday 9 AM: an alarm every weekday at 6:30, pills every day at 8 PM."""
    kept = timers(tmp_path)
    assert kept.answer("Set an alarm for 6:30 AM every weekday.", NINE_AM) == (
        "Okay, an alarm at 6:30 AM every weekday."
    )
    kept.answer("Remind me to take my pills every day at 8 PM.", NINE_AM)
    hour = 3600
    assert kept.due(NINE_AM + 11 * hour) == ["A reminder: take your pills."]  # Monday 8 PM
    said = {}
    for day in range(1, 7):  # Tuesday to Sunday, at 7 AM and 9 PM, restarted each time
        said[day] = [timers(tmp_path).due(NINE_AM + (day * 24 + at) * hour) for at in (-2, 12)]
    alarm, pills = ["It's 6:30 AM. This is your alarm."], ["A reminder: take your pills."]
    assert said[1] == said[4] == [alarm, pills]  # Tuesday, Friday
    assert said[5] == said[6] == [[], pills]  # no weekday alarm on Saturday and Sunday
    assert timers(tmp_path).answer("Cancel the alarm.", NINE_AM + 6 * 24 * hour) == (
        "I've cancelled the 6:30 AM alarm."
    )


def test_a_one_shot_run_says_it_cannot_keep_one(tmp_path: Path) -> None:
    assert timers(tmp_path, live=False).answer("set a timer for 5 minutes", NINE_AM) == (
        "I can only keep timers, alarms and reminders while I run as a daemon: start me with "
        "sage run."
    )
    assert not (tmp_path / "timers.json").exists()


def test_a_corrupt_timers_file_loses_only_the_timers(tmp_path: Path) -> None:
    (tmp_path / "timers.json").write_text("{not json")
    kept = timers(tmp_path)
    assert kept.timers == []
    assert kept.answer("set a timer for 1 minute", NINE_AM) == (
        "Okay, a 1 minute timer, starting now."
    )
    assert timers(tmp_path).due(NINE_AM + 60) == ["Your 1 minute timer is done."]
    assert (tmp_path / "timers.json.corrupt").read_text() == "{not json"  # kept aside


def test_an_unwritable_state_folder_keeps_the_timer_running(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    kept = Timers(blocked / "timers.json", live=True)  # its folder is a file
    assert kept.answer("set a timer for 1 minute", NINE_AM) == (
        "Okay, a 1 minute timer, starting now."
    )
    assert kept.due(NINE_AM + 60) == ["Your 1 minute timer is done."]
