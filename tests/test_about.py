"""Questions about SAGE itself are answered from its config, catalog and store."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sage.about import About
from sage.config import Config, PathsConfig, RemoteConfig
from sage.trust.store import Store


def about(tmp_path: Path, **config: object) -> tuple[About, Store]:
    store = Store(tmp_path / "sage.db")
    return About(Config(paths=PathsConfig(state_dir=tmp_path), **config), store), store  # type: ignore[arg-type]


def test_the_models_and_version_are_its_own(tmp_path: Path) -> None:
    """The base said "I am running Sage version 1.1." and "I am running Sage"."""
    sage, _ = about(tmp_path)
    assert sage.answer("What model are you running?") == (
        "I answer with Qwen2.5 Coder 1.5B and, where it's sure enough, the smaller Qwen2.5 "
        "Coder 0.5B. Whisper tiny English hears you and a Piper voice speaks, all on this "
        "machine."
    )
    assert sage.answer("What version are you?") == "I'm SAGE 0.1.0."


def test_what_it_keeps_is_said_as_it_is(tmp_path: Path) -> None:
    """The base said "Yes, I record what you say."."""
    sage, _ = about(tmp_path)
    assert sage.answer("Are you private?") == sage.answer("Do you record what I say?")
    kept = sage.answer("Do you record what I say?")
    assert kept is not None and kept.startswith("Nothing I hear leaves this machine")
    assert f"in my database in {tmp_path}," in kept
    remote, _ = about(tmp_path / "r", remote=RemoteConfig(url="http://gpu-host:8080"))
    said = remote.answer("Where is my data stored?")
    assert said is not None and said.startswith(
        "Questions for the larger model go to http://gpu-host:8080; nothing else"
    )


def test_what_it_learned_comes_from_the_last_dream_report(tmp_path: Path) -> None:
    """The base said "I learned about the weather."."""
    sage, store = about(tmp_path)
    assert sage.answer("What did you learn last night?") == (
        "I haven't dreamed yet: DREAM runs each night at 3 AM."
    )
    started = time.mktime((2026, 11, 22, 3, 0, 0, 0, 0, -1))
    scores = {"before": {"repeat_agreement": 0.731}, "after": {"repeat_agreement": 0.8655}}
    students = {
        "draft": {"scores": scores, "decision": {"promoted": True, "why": "+13.4 points"}},
        "home": {"decision": {"promoted": False, "why": "worse"}},
    }
    report = {"selected": list(range(42)), "students": students}
    store.save_dream_run(
        {"started_at": started, "updated_at": started, "status": "done", "report": report}
    )
    assert sage.answer("What did you learn last night?") == (
        "My last DREAM run, on Sunday, November 22, studied 42 of your questions. It improved "
        "the draft model: it now agrees with the larger model on 87 percent of questions "
        "asked again, up from 73. It tried to improve the home modifier, but the new one did "
        "not pass my checks."
    )
    # A draft with the base's token ids is judged by what the base keeps of its proposals.
    scores |= {"metric": "acceptance", "before": {"repeat_acceptance": 0.399},
               "after": {"repeat_acceptance": 0.586}}  # fmt: skip
    next_night = started + 86400
    store.save_dream_run({"started_at": next_night, "updated_at": next_night, "status": "done",
                          "report": {**report, "students": students}})  # fmt: skip
    assert sage.answer("What did you learn last night?") == (
        "My last DREAM run, on Monday, November 23, studied 42 of your questions. It improved "
        "the draft model: the larger model now keeps 59 percent of the words it suggests on "
        "questions asked again, up from 40. It tried to improve the home modifier, but the "
        "new one did not pass my checks."
    )


@pytest.mark.parametrize(
    "question",
    [
        "What model of car is best?",
        "What version of Python should I use?",
        "Do you store passwords in plain text?",
        "What did you learn in school?",
    ],  # fmt: skip
)
def test_other_questions_go_on(tmp_path: Path, question: str) -> None:
    sage, _ = about(tmp_path)
    assert sage.answer(question) is None
