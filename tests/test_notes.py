"""Notes kept by voice: remembered, recalled by what they name, forgotten; a question
about where something of yours is is never left to a model's guess."""

from __future__ import annotations

from pathlib import Path

import pytest

from sage.notes import Notes

NOW = 1_795_000_000.0


def test_where_the_car_is(tmp_path: Path) -> None:
    """The base said "Sure, I'll remember that." and kept nothing."""
    notes = Notes(tmp_path / "notes.json")
    said = [
        notes.answer(text, NOW)
        for text in [
            "Where's my car?",
            "Remember that my car is on level 3.",
            "Where did I park my car?",
            "Remember I put the spare keys in the blue drawer.",
            "Where are my keys?",
            "Remember that Bob is coming on Friday.",
            "What do you remember?",
            "Forget what I told you about my car.",
            "Where's my car?",
        ]
    ]
    assert said == [
        "You haven't told me where your car is. Next time, tell me: remember that my car "
        "is, and the place.",
        "Okay, I'll remember that your car is on level 3.",
        "You told me your car is on level 3.",
        "Okay, I'll remember that you put the spare keys in the blue drawer.",
        "You told me you put the spare keys in the blue drawer.",
        "Okay, I'll remember that Bob is coming on Friday.",  # as it was said, capitals too
        "You told me: your car is on level 3; you put the spare keys in the blue drawer; Bob "
        "is coming on Friday.",
        "Okay, I've forgotten what you told me about your car.",
        "You haven't told me where your car is. Next time, tell me: remember that my car "
        "is, and the place.",
    ]


def test_a_note_answers_only_what_it_names(tmp_path: Path) -> None:
    notes = Notes(tmp_path / "notes.json")
    notes.answer("Remember that my sister lives in France.", NOW)
    notes.answer("Remember that the wifi password is blue42.", NOW)
    assert notes.answer("What's the wifi password?", NOW) == (
        "You told me the wifi password is blue42."
    )
    assert notes.answer("What's the capital of France?", NOW) is None  # for the models
    assert notes.answer("Where is the Eiffel Tower?", NOW) is None  # not yours: for them too
    assert notes.answer("What's my name?", NOW) is None  # the rule user_name's


@pytest.mark.parametrize("text", ["Remember to buy milk.", "Remember that.", "Take a note."])
def test_what_it_cannot_keep_goes_on(tmp_path: Path, text: str) -> None:
    assert Notes(tmp_path / "notes.json").answer(text, NOW) is None  # to the rule no_lists


def test_notes_survive_a_restart_and_can_all_be_forgotten(tmp_path: Path) -> None:
    Notes(tmp_path / "notes.json").answer("Remember that my car is on level 3.", NOW)
    notes = Notes(tmp_path / "notes.json")
    assert notes.answer("Where's my car?", NOW) == "You told me your car is on level 3."
    assert notes.answer("Delete my notes.", NOW) == (
        "Okay, I've forgotten everything you asked me to remember."
    )
    assert notes.answer("What do you remember?", NOW) == (
        "You haven't asked me to remember anything."
    )


def test_an_unwritable_state_folder_is_said_not_claimed(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the folder should be")
    notes = Notes(tmp_path / "state" / "notes.json")
    unwritable = "Sorry, I couldn't change your notes: the state folder is not writable."
    assert notes.answer("Remember that my car is on level 3.", NOW) == unwritable
    assert notes.answer("Delete my notes.", NOW) == unwritable  # not "I've forgotten"


def test_a_corrupt_notes_file_is_kept_aside(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text('[{"said": 3}]')
    notes = Notes(tmp_path / "notes.json")
    assert notes.answer("What do you remember?", NOW) == (
        "You haven't asked me to remember anything."
    )
    assert (tmp_path / "notes.json.corrupt").read_text() == '[{"said": 3}]'
