"""DREAM around its entry point: idle gating, yield when someone speaks, resume; and the
REST unload / wake reload that restores the language model from its snapshot."""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sage.audio.io import NullSink
from sage.catalog import ModelCache
from sage.config import CascadeConfig, Config, LlmConfig, PathsConfig
from sage.daemon import Daemon
from sage.dream.dreamer import Dreamer, split_by_question
from sage.dream.gate import Scores
from sage.metabolism.metabolism import Metabolism
from sage.metabolism.snapshots import SnapshotStore
from sage.metabolism.states import STATES_DIR, State, load_settings
from sage.patterns.rules import DEFAULT_RULES, load_rules
from sage.pipeline import Pipeline
from sage.trust.store import TRUST_PRIORS, Store


class GatedWork:
    """DreamWork whose third unit waits until the test has spoken: no race, no sleep."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done: list[int] = []
        self.at_unit_two = threading.Event()
        self.spoken = threading.Event()

    def units(self, report: dict[str, Any]) -> int:
        return self.total

    def label(self, unit: int, report: dict[str, Any]) -> str:
        return f"unit {unit}"

    def do(self, unit: int, report: dict[str, Any]) -> None:
        if unit == 2 and not self.spoken.is_set():
            self.at_unit_two.set()
            self.spoken.wait(10)
        self.done.append(unit)
        report["units_done"] = report.get("units_done", 0) + 1


def test_dream_yields_to_an_utterance_and_resumes_where_it_stopped(tmp_path: Path) -> None:
    store = Store(tmp_path / "sage.db")
    metabolism = Metabolism(load_settings(), store, None, time.time())
    metabolism.handle(metabolism_event("schedule_fired"), time.time())
    work = GatedWork(total=6)
    dreamer = Dreamer(store, work)
    result: list[str] = []
    night = threading.Thread(target=lambda: result.append(
        dreamer.run(lambda: metabolism.state is not State.DREAM, time.time())))  # fmt: skip
    night.start()
    assert work.at_unit_two.wait(10)
    metabolism.utterance("what time is it", time.time())  # someone speaks
    work.spoken.set()
    night.join(10)
    assert result == ["yielded"] and work.done == [0, 1, 2]
    run = store.dream_run()
    assert run is not None and (run["status"], run["cursor"]) == ("yielded", 3)
    # Later, idle again: the same run resumes at unit 3 and finishes; nothing is redone.
    assert dreamer.run(lambda: False, time.time()) == "done"
    assert work.done == [0, 1, 2, 3, 4, 5]
    assert store.dream_run()["status"] == "done"  # type: ignore[index]


def metabolism_event(name: str) -> Any:
    from sage.metabolism.states import Event

    return Event(name)


def small_config(tmp_path: Path, states: Path | None = None) -> Config:
    from sage.config import DreamConfig, MetabolismConfig

    return Config(
        paths=PathsConfig(cache_dir=Config().paths.cache_dir, state_dir=tmp_path),
        llm=LlmConfig(role="tiny", n_ctx=1024, threads=2),
        cascade=CascadeConfig(draft_role="", speculation="off"),
        metabolism=MetabolismConfig(states_dir=states),
        dream=DreamConfig(
            student_role="tiny",
            teacher_role="tiny",
            steps=8,
            distil_steps=8,
            regression_questions=4,
        ),
    )


def daemon_for(config: Config, models: ModelCache, states: Path = STATES_DIR) -> Daemon:
    store = Store(config.paths.state_dir / "sage.db")
    metabolism = Metabolism(load_settings(states), store, config.paths.state_dir / "status.json",
                            time.time())  # fmt: skip
    snapshots = SnapshotStore(config.paths.state_dir / "snapshots", 64 << 20)
    pipeline = Pipeline(config, models, load_rules([DEFAULT_RULES]), NullSink(), store=store,
                        metabolism=metabolism, snapshots=snapshots)  # fmt: skip
    return Daemon(pipeline)


NOTHING_TO_LEARN = "too few language-model turns to learn from"


def test_dream_runs_only_when_idle(tmp_path: Path, models: ModelCache) -> None:
    daemon = daemon_for(small_config(tmp_path), models)
    pipeline, metabolism = daemon.pipeline, daemon.metabolism
    assert metabolism is not None and pipeline.store is not None
    for text in ("What time is it?", "what is 12 times 12", "Hello there"):
        pipeline.ask(text)
    assert metabolism.state is State.FOCUS
    daemon.dream()  # busy: deferred, nothing runs
    assert pipeline.store.dream_run() is None and metabolism.state is State.FOCUS
    metabolism.tick(time.time() + metabolism.settings[State.FOCUS].idle_timeout_s)
    assert metabolism.state is State.REST
    daemon.dream()
    run = pipeline.store.dream_runs(1)[0]
    assert run["status"] == "done"
    assert run["report"]["dropped"] == {"not a language-model turn": 3}
    assert run["report"]["students"] == {  # nothing to learn from rules
        "draft": {
            "decision": {"promoted": False, "why": "too few language-model turns to learn from"}
        }
    }
    assert metabolism.state is State.REST  # DREAM → REST when its work is done
    events = [(t["from_state"], t["to_state"]) for t in pipeline.store.transitions()][:2]
    assert events == [("dream", "rest"), ("rest", "dream")]
    rows = pipeline.store.experiences()
    assert all(r["cpu_s"] is not None and r["state"] for r in rows)  # spend per turn
    pipeline.close()


def test_rest_unloads_the_llm_and_the_next_wake_restores_its_snapshot(
    tmp_path: Path, models: ModelCache
) -> None:
    states = tmp_path / "states"
    shutil.copytree(STATES_DIR, states)
    rest = (states / "rest.toml").read_text().replace("unload_after_s = 300.0",
                                                      "unload_after_s = 1.0")  # fmt: skip
    (states / "rest.toml").write_text(rest)
    config = small_config(tmp_path, states)
    daemon = daemon_for(config, models, states)
    pipeline, metabolism = daemon.pipeline, daemon.metabolism
    assert metabolism is not None
    question = "What is the capital of France?"
    cold = pipeline.ask(question)
    assert cold.route == "llm" and pipeline.llm_loaded
    assert "prefix-tiny" in {e["name"] for e in pipeline.snapshots.entries()}  # type: ignore[union-attr]
    now = time.time() + metabolism.settings[State.FOCUS].idle_timeout_s
    metabolism.tick(now)
    assert metabolism.state is State.REST
    metabolism.phase = type(metabolism.phase)(State.REST, time.time() - 2.0)  # REST has lasted
    daemon._tick()
    assert not pipeline.llm_loaded and metabolism.models == []
    again = pipeline.ask(question)  # the wake reloads ...
    assert pipeline.llm_loaded and "llm_load" in again.timings_ms
    restored = pipeline.responder().restored  # type: ignore[attr-defined]
    assert set(restored) & {"prefix-tiny", "session-tiny"}  # ... from a snapshot
    assert again.reply == cold.reply
    pipeline.close()


@pytest.mark.parametrize("text", ["help", "Emergency! The kitchen is flooding."])
def test_urgent_requests_are_answered_in_crisis_by_the_most_capable_tier(
    tmp_path: Path, models: ModelCache, text: str
) -> None:
    daemon = daemon_for(small_config(tmp_path), models)
    turn = daemon.pipeline.ask(text)
    assert turn.state == "crisis"
    assert daemon.metabolism is not None and daemon.metabolism.state is State.CRISIS
    daemon.pipeline.close()


def test_sage_status_shows_the_last_known_state(speak_piper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json
    import os
    import subprocess
    import sys

    from sage.host import engines, summary

    env = dict(os.environ, SAGE_STATE_DIR=str(tmp_path))

    def sage(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "sage.cli", *args], env=env,
                              capture_output=True, text=True, check=True)  # fmt: skip
        return done.stdout

    never = sage("status")
    assert "never run" in never and f"host     {summary()}\n" in never  # where it would run
    wav = speak_piper("status_time", "What time is it?")
    sage("run", "--input", str(wav), "--output", "none", "-q")
    status = json.loads(sage("status", "--json"))
    assert status["running"] is False and status["state"] == "focus"
    assert status["transitions"][0]["event"] == "utterance"
    assert status["models"] == []  # freed at shutdown
    assert status["host"] == engines()
    shown = sage("status")
    assert "not running (last heard from " in shown and "last known: state focus" in shown
    assert "job " not in shown  # a stopped daemon's schedule is not shown as upcoming
    assert f"host     {summary()}\n" in shown  # where each engine runs, as the daemon chose


def test_sage_status_names_the_domains_the_draft_is_passed_over_for(
    tmp_path: Path, models: ModelCache, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the cascade learned of hand-overs (test_cascade routes by it) reaches the
    status file after the next language-model turn, and goes with the models at REST."""
    import argparse
    import json

    from sage.cascade.handover import WINDOW
    from sage.cli import cmd_status

    config = dataclasses.replace(small_config(tmp_path), cascade=CascadeConfig(
        draft_role="tiny", speculation="off"))  # fmt: skip
    pipeline = daemon_for(config, models).pipeline
    status = tmp_path / "status.json"
    pipeline.ask("What is the capital of France?")
    assert json.loads(status.read_text())["passed_over"] == {}
    handovers = pipeline.responder().handovers  # type: ignore[attr-defined]
    handovers.compared("draft", 500.0, 1000.0)  # half the base's time to a first sentence
    for _ in range(WINDOW):
        handovers.record("draft", "home", True)  # ... and every home answer handed over
    pipeline.ask("Who wrote Hamlet?")
    assert json.loads(status.read_text())["passed_over"] == {"draft": ["home"]}
    cmd_status(config, argparse.Namespace(json=False))
    shown = capsys.readouterr().out
    assert "routing  draft passed over for home requests (it kept handing them over)" in shown
    pipeline.unload_llm()  # REST: the figures go with the models
    assert json.loads(status.read_text())["passed_over"] == {}
    pipeline.close()


def test_a_small_dream_relabels_trains_and_gates(tmp_path: Path, models: ModelCache) -> None:
    pytest.importorskip("peft", reason="the dream extra (torch, transformers, peft) is missing")
    from sage.dream.distill import Distill

    # Thresholds no answer meets: every base answer counts as unsure, so the "general"
    # domain gets a modifier student besides the draft.
    config = dataclasses.replace(
        small_config(tmp_path),
        cascade=CascadeConfig(draft_role="", speculation="off", escalate_low_prob=1.0,
                              escalate_mean_nll=1e-6),
    )  # fmt: skip
    store = lessons_in_store(config, models)
    work = Distill(config, models, store, lambda: False)
    progress: list[tuple[int, int, str]] = []
    run = Dreamer(store, work).run(lambda: False, time.time(),
                                   progress=lambda *p: progress.append(p))  # fmt: skip
    assert run == "done"
    report = store.dream_runs(1)[0]["report"]
    lessons = report["lessons"]
    assert len(lessons["train"]) == 4 and len(lessons["held_out"]) == 1
    assert all(lesson["unsure"] and lesson["domain"] == "general" for lesson in lessons["train"])
    assert list(report["students"]) == ["draft", "general"]
    assert [label for _, _, label in progress] == [
        *(f"relabel {n}/5" for n in range(1, 6)),
        "train draft", "gate draft", "train general", "gate general", "done",
    ]  # fmt: skip
    assert progress[-1][:2] == (9, 9)
    for name, tier in (("draft", "draft"), ("general", "modifier")):
        result = report["students"][name]
        assert result["training"]["steps"] == 8
        assert set(result["scores"]) == {"metric", "before", "after"}
        if name == "draft":  # the teacher speculated with it, as the cascade would
            assert result["scores"]["metric"] == "acceptance"
            assert result["scores"]["before"]["acceptance"] > 0
        else:
            assert result["scores"]["metric"] == "nll"
        promoted = result["decision"]["promoted"]
        assert (tmp_path / "adapters" / f"{name}.gguf").exists() is promoted, result
        assert (tmp_path / "dream" / f"rejected-{name}.gguf").exists() is not promoted
        if promoted:  # trust of the tier rose by the measured gain where it was validated
            raised = result["trust_raised"]
            assert raised["tier"] == tier and raised["by"] > 0
            context = raised["contexts"][0]
            assert store.trust(context, tier, time.time()) > TRUST_PRIORS[tier]
    assert not list((tmp_path / "dream").glob("candidate-*"))  # promoted or set aside
    store.close()


def test_a_small_dream_promotes_a_student_that_learned_the_households_repeats(
    tmp_path: Path, models: ModelCache
) -> None:
    """A bigger teacher (the 0.5B draft) teaches the 135M model a day of six questions,
    four of them asked again in other words: the repeats gain, nothing regresses, the
    adapter is promoted, trust rises and the answers change."""
    pytest.importorskip("peft", reason="the dream extra (torch, transformers, peft) is missing")
    from sage.cascade.chat import ChatModel
    from sage.dream.distill import Distill

    config = small_config(tmp_path)
    config = dataclasses.replace(config, dream=dataclasses.replace(
        config.dream, teacher_role="draft", distil_steps=16, distil_learning_rate=3e-4,
        regression_questions=8, modifiers=0))  # fmt: skip
    daemon = daemon_for(config, models)
    questions = ["What is the capital of France?", "Name a primary colour.", "What do bees make?",
                 "Who wrote Hamlet?", "What is the largest ocean?",
                 "How many legs does a spider have?"]  # fmt: skip
    for text in [*questions, *(f"Hey, {q[0].lower()}{q[1:]}" for q in questions[:4])]:
        daemon.pipeline.ask(text)
    daemon.pipeline.close()
    store = Store(tmp_path / "sage.db")
    assert Dreamer(store, Distill(config, models, store, lambda: False)).run(
        lambda: False, time.time()) == "done"  # fmt: skip
    report = store.dream_runs(1)[0]["report"]
    assert report["repeats"] and report["lessons"]["repeats"]
    draft = report["students"]["draft"]
    assert draft["decision"]["promoted"], draft
    scores = draft["scores"]
    assert scores["metric"] == "agreement"  # other token ids: it cannot speculate for the 0.5B
    assert scores["after"]["repeat_agreement"] >= scores["before"]["repeat_agreement"] + 0.05
    adapter = tmp_path / "adapters" / "draft.gguf"
    assert adapter.exists() and draft["trust_raised"]["by"] > 0
    repeat = report["lessons"]["repeats"][0]["prompt"]
    messages = [{"role": "system", "content": config.llm.system_prompt},
                {"role": "user", "content": repeat}]  # fmt: skip
    model = ChatModel(models.path("tiny"), 1024, 2, role="tiny")
    before = "".join(piece for piece, _ in model.stream(messages, 32))
    model.use_adapter(adapter)
    after = "".join(piece for piece, _ in model.stream(messages, 32))
    model.close()
    assert after != before  # the promoted adapter changes what the student says
    store.close()


def test_a_promotion_swaps_the_adapter_in_and_raises_trust_by_the_measured_gain(
    tmp_path: Path, models: ModelCache
) -> None:
    from sage.dream.distill import Distill, Student, gain

    config = small_config(tmp_path)
    store = Store(tmp_path / "sage.db")
    work = Distill(config, models, store, lambda: False)
    lesson = {"prompt": "Who wrote Hamlet?", "answer": "Shakespeare.", "domain": "general"}
    report = {"run": 7, "students": {"draft": {}}, "lessons": {"held_out": [
        {**lesson, "context": "novel"}, {**lesson, "context": "stable"}]}}  # fmt: skip
    candidate = tmp_path / "dream" / "candidate-7-draft.gguf"
    candidate.parent.mkdir()
    candidate.write_bytes(b"adapter")
    before = Scores(agreement=0.5, checks=0.75, distinct2=0.9, repeated=0.25, refusals=0.0,
                    nll=2.0)  # fmt: skip
    after = dataclasses.replace(before, agreement=0.7)
    work.promote(Student.named("draft", config), report, gain(before, after, "agreement"))
    assert (tmp_path / "adapters" / "draft.gguf").read_bytes() == b"adapter"
    assert not candidate.exists()
    now = time.time()
    for context in ("novel", "stable"):  # 20 points more agreement: trust +0.2 there
        assert store.trust(context, "draft", now) == pytest.approx(TRUST_PRIORS["draft"] + 0.2)
    assert store.trust("moving", "draft", now) == TRUST_PRIORS["draft"]
    assert report["students"]["draft"]["trust_raised"] == {
        "tier": "draft", "contexts": ["novel", "stable"], "by": 0.2}  # fmt: skip
    store.close()


def test_without_unsure_base_turns_only_the_draft_is_taught(
    tmp_path: Path, models: ModelCache
) -> None:
    from sage.dream.distill import Distill

    config = dataclasses.replace(
        small_config(tmp_path),
        cascade=CascadeConfig(draft_role="", speculation="off", escalate_low_prob=0.0,
                              escalate_mean_nll=100.0),
    )  # fmt: skip
    store = lessons_in_store(config, models)
    report = {"selected": [1, 2, 3, 4], "held_out": [5]}
    assert Distill(config, models, store, lambda: False).units(report) == 5 + 2
    assert list(report["students"]) == ["draft"]
    store.close()


def test_selection_collapses_repeats_and_keeps_paraphrases_of_held_out_questions_apart() -> None:
    texts = [
        "What is the capital of France?",
        "Hey, what is the capital of France?",  # the same question: collapsed, a repeat
        "Who wrote Hamlet?",
        "How many legs does a spider have?",
        "What is 12 times 12?",
        "Name a primary colour.",  # the fifth distinct question: held out
        "Name a primary colour used in painting.",  # its paraphrase: set aside
        "What is 13 times 12?",
        "What do bees make?",
    ]
    rows = [{"id": n, "transcript": text} for n, text in enumerate(texts, start=1)]
    selection = split_by_question(rows, limit=64)
    assert selection == {"selected": [1, 3, 4, 5, 8, 9], "held_out": [6], "repeats": [2],
                         "collapsed": 1, "near_held_out": 1}  # fmt: skip


def lessons_in_store(config: Config, models: ModelCache) -> Store:
    """Five language-model turns remembered by a pipeline with the tiny model."""
    daemon = daemon_for(config, models)
    for text in (
        "What is the capital of France?",
        "Name a primary colour.",
        "What do bees make?",
        "Who wrote Hamlet?",
        "What is the largest ocean?",
    ):
        daemon.pipeline.ask(text)
    daemon.pipeline.close()
    return Store(config.paths.state_dir / "sage.db")


def test_dream_training_yields_and_the_resumed_run_finishes(
    tmp_path: Path, models: ModelCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("peft", reason="the dream extra (torch, transformers, peft) is missing")
    from sage.dream import distill

    config = small_config(tmp_path)
    store = lessons_in_store(config, models)
    checks_in_training: list[int] = []
    real_train = distill.train_lora

    def train_and_count(*args: Any, **kwargs: Any) -> Any:
        checks_in_training.append(0)  # training has started
        return real_train(*args, **kwargs)

    monkeypatch.setattr(distill, "train_lora", train_and_count)

    def someone_speaks_during_training() -> bool:
        if checks_in_training:
            checks_in_training.append(1)
        return len(checks_in_training) == 3  # at the second training step

    work = distill.Distill(config, models, store, someone_speaks_during_training)
    assert Dreamer(store, work).run(someone_speaks_during_training, time.time()) == "yielded"
    run = store.dream_runs(1)[0]
    assert (run["status"], run["cursor"]) == ("yielded", 5)  # at the training unit
    assert not (tmp_path / "adapters" / "draft.gguf").exists()
    work = distill.Distill(config, models, store, lambda: False)
    assert Dreamer(store, work).run(lambda: False, time.time()) == "done"
    run = store.dream_runs(1)[0]
    draft = run["report"]["students"]["draft"]
    assert draft["training"]["steps"] == config.dream.distil_steps and "decision" in draft
    store.close()


def test_kill_9_during_dream_leaves_the_promoted_adapter_in_place(
    tmp_path: Path, models: ModelCache
) -> None:
    pytest.importorskip("peft", reason="the dream extra (torch, transformers, peft) is missing")
    import hashlib
    import os
    import signal
    import subprocess
    import sys

    from sage.cascade.adapters import write_lora

    config = small_config(tmp_path)
    lessons_in_store(config, models).close()
    adapter = tmp_path / "adapters" / "draft.gguf"
    write_lora(models.path("tiny"), adapter, targets=("attn_v", "attn_output"))
    before = hashlib.sha256(adapter.read_bytes()).hexdigest()
    toml = tmp_path / "sage.toml"
    toml.write_text(f'[paths]\nstate_dir = "{tmp_path}"\n[llm]\nrole = "tiny"\nn_ctx = 1024\n'
                    '[cascade]\ndraft_role = ""\n[dream]\nstudent_role = "tiny"\n'
                    'teacher_role = "tiny"\ndistil_steps = 200\n'
                    'regression_questions = 4\n')  # fmt: skip
    argv = [sys.executable, "-m", "sage.cli", "dream", "--now", "--config", str(toml)]
    dream = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    assert dream.stderr is not None
    for line in dream.stderr:
        if "training the draft adapter" in line:
            break
    os.kill(dream.pid, signal.SIGKILL)  # mid-training
    dream.wait()
    assert hashlib.sha256(adapter.read_bytes()).hexdigest() == before
    store = Store(tmp_path / "sage.db")
    run = store.dream_runs(1)[0]
    assert run["status"] == "running" and run["cursor"] == 5  # resumes at the training unit
    store.close()


def test_sage_dream_rollback_puts_back_the_named_students_previous_adapter(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys

    env = dict(os.environ, SAGE_STATE_DIR=str(tmp_path))

    def rollback(*name: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "sage.cli", "dream", "--rollback", *name]
        return subprocess.run(argv, env=env, capture_output=True, text=True)

    assert "nothing to roll back" in rollback("math").stdout
    adapters = tmp_path / "adapters"
    adapters.mkdir()
    (adapters / "math.gguf").write_bytes(b"new")
    (adapters / "math.gguf.prev").write_bytes(b"old")
    (adapters / "draft.gguf").write_bytes(b"draft")
    assert "restored the previous adapter" in rollback("math").stdout
    assert (adapters / "math.gguf").read_bytes() == b"old"
    assert (adapters / "draft.gguf").read_bytes() == b"draft"  # only the named student
    assert "no previous draft adapter" in rollback().stdout  # the draft by default
    refused = rollback("cooking")
    assert refused.returncode == 2 and "invalid choice: 'cooking'" in refused.stderr
