"""Lists kept by voice: what adds, reads, checks, removes and clears, and what survives a
second process, a corrupt file or a read-only state folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sage.lists import Lists


def test_a_shopping_list_by_voice(tmp_path: Path) -> None:
    """The base said "Sure, I'll add milk to your shopping list." and kept nothing."""
    lists = Lists(tmp_path / "lists.json")
    said = [
        lists.answer(text)
        for text in [
            "Add milk to my shopping list.",
            "Add eggs, bread and a bag of apples to the shopping list.",
            "Put butter on my grocery list.",  # the same list
            "Add milk to the list.",  # the shopping list, when none is named
            "What's on my shopping list?",
            "Is bread on my shopping list?",
            "Are bananas and eggs on my list?",
            "Take milk off my shopping list.",
            "Remove cheese from the shopping list.",
            "Clear my shopping list.",
            "What's on my shopping list?",
        ]
    ]
    assert said == [
        "Okay, I've added milk to your shopping list.",
        "Okay, I've added eggs, bread and a bag of apples to your shopping list.",
        "Okay, I've added butter to your shopping list.",
        "Your shopping list already has milk.",
        "Your shopping list has 5 things: milk, eggs, bread, a bag of apples and butter.",
        "Yes, your shopping list has bread.",
        "No, your shopping list doesn't have bananas.",
        "Okay, I've taken milk off your shopping list.",
        "Your shopping list doesn't have cheese.",
        "Okay, your shopping list is empty now.",
        "Your shopping list is empty.",
    ]


def test_other_lists_are_kept_apart_and_said_back(tmp_path: Path) -> None:
    lists = Lists(tmp_path / "lists.json")
    lists.answer("Add pick up my prescription to my to do list.")
    lists.answer("Add milk to my shopping list.")
    assert lists.answer("What's on my to-do list?") == (
        "Your to-do list has 1 thing: pick up your prescription."
    )
    assert lists.answer("What lists do I have?") == "You have a shopping list and a to-do list."


def test_remember_to_puts_one_thing_on_the_to_do_list(tmp_path: Path) -> None:
    """The rule no_lists had answered "I can't keep a calendar yet." to it."""
    lists = Lists(tmp_path / "lists.json")
    assert lists.answer("Remember to buy milk and eggs.") == (
        "Okay, I've added buy milk and eggs to your to-do list."
    )
    assert lists.answer("Don't let me forget to call my sister.") == (
        "Okay, I've added call your sister to your to-do list."
    )
    assert lists.answer("What's on my to-do list?") == (
        "Your to-do list has 2 things: buy milk and eggs and call your sister."
    )


def test_what_else_is_said_of_ones_own_list_is_asked_again(tmp_path: Path) -> None:
    """Whisper heard "and no can eggs to my shopping list", and the base answered it."""
    assert Lists(tmp_path / "lists.json").answer("And no can eggs to my shopping list.") == (
        "I didn't catch what to do with your list. Say, for example: add milk to my shopping "
        "list, or what's on my shopping list?"
    )


@pytest.mark.parametrize(
    "text",
    [
        "What's on my calendar today?",  # no_lists says it keeps no calendar
        "Remember that my car is on level 3.",
        "How do I add items to a list in Python?",
        "Add 5 and 3.",
        "Put the kettle on.",
        "How do I make a to-do list app in Python?",
        "How do I sort my list in Python?",
    ],
)
def test_what_is_not_about_a_list_goes_on(tmp_path: Path, text: str) -> None:
    assert Lists(tmp_path / "lists.json").answer(text) is None


def test_a_one_shot_run_and_the_daemon_share_the_lists(tmp_path: Path) -> None:
    daemon, one_shot = Lists(tmp_path / "lists.json"), Lists(tmp_path / "lists.json")
    daemon.answer("Add milk to my shopping list.")
    one_shot.answer("Add eggs to my shopping list.")
    assert daemon.answer("What's on my shopping list?") == (
        "Your shopping list has 2 things: milk and eggs."
    )


def test_a_corrupt_lists_file_is_kept_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kept = tmp_path / "lists.json"
    kept.write_text('{"shopping": ["milk", ')
    lists = Lists(kept)
    assert lists.answer("What's on my shopping list?") == "Your shopping list is empty."
    assert (tmp_path / "lists.json.corrupt").read_text() == '{"shopping": ["milk", '
    assert sum("unreadable" in r.message for r in caplog.records) == 1
    assert lists.answer("Add eggs to my shopping list.") == (
        "Okay, I've added eggs to your shopping list."
    )


def test_an_unwritable_state_folder_is_said_not_hidden(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the folder should be")
    lists = Lists(tmp_path / "state" / "lists.json")
    assert lists.answer("Add milk to my shopping list.") == (
        "Sorry, I couldn't save your lists: the state folder is not writable."
    )
