"""One turn of the voice loop: transcript → pattern matcher or LLM → Piper → sink.

Models load lazily (a pattern hit never loads the LLM) or up front with :meth:`preload`
for the daemon. Every turn produces a :class:`Turn` with its route and per-stage timings,
logged as one INFO line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sage.about import About
from sage.audio import SAMPLE_RATE, SAMPLE_WIDTH
from sage.audio.io import Sink
from sage.audio.segmenter import Utterance
from sage.cascade import deterministic
from sage.cascade.cascade import Cascade, Generation, ModelCall, Responder
from sage.cascade.chat import ChatModel
from sage.cascade.speculation import CountingProposer
from sage.catalog import ModelCache
from sage.config import Config
from sage.errors import InputTextError, ModelError, SageError
from sage.lists import Lists
from sage.metabolism.ledger import Cost, Meter
from sage.metabolism.metabolism import Metabolism
from sage.metabolism.snapshots import SnapshotKey, SnapshotStore
from sage.metabolism.states import Event, Phase, State
from sage.notes import Notes
from sage.patterns.matcher import Match, PatternMatcher, normalise, spoken_list
from sage.patterns.rules import Rule
from sage.services.control import YES, ServiceControl
from sage.speech.asr import (
    GrammarRecognizer,
    SpeechRecognizer,
    Transcript,
    WhisperRecognizer,
    hotwords_for,
)
from sage.speech.tts import PiperSpeaker
from sage.speech.voice import VoiceSettings
from sage.timers import Timers
from sage.trust import scoring
from sage.trust.store import TRUST_PRIORS, Experience, Store

_LOGGER = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1000
"""Longer typed input is rejected: a spoken request is never this long."""
LLM_UNAVAILABLE_REPLY = "Sorry, I can't answer that right now: my language model is unavailable."
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
SENTENCE_QUEUE = 8
"""Sentences the LLM may run ahead of the voice; the producer blocks beyond that."""
FIRST_ITEM_HOLD_S = 1.0
"""Longest the LLM waits for the first sentence's audio before it goes on regardless."""
FOLLOW_UP_S = 30.0
"""How long after "3 plus what?" the next utterance may finish that question."""
REPEAT_RULE = "repeat"
"""The rule for "what did you say?": its reply is then the last one, said again."""
HEARD_RULE = "heard"
"""The rule for "what did I just ask?": its reply is then the last request heard."""
LISTENING_RULE = "listening"
"""The rule for "stop listening" / "start listening": in between, a daemon answers and
keeps nothing it hears but "start listening"."""
VOICE_RULE = "voice"
"""The rule for "louder", "speak slower": the voice changes and its reply says how."""
_START_OVER = re.compile(
    r"^(?:(?:let's|let us|can we|please) )?(?:start (?:over|again|afresh)|new conversation"
    r"|forget (?:that|what i said|our conversation|everything)|clear (?:the |our )?conversation"
    r"|reset (?:the |our )?conversation)(?: please)?$"
)
"""The conversation closed on request: the base had said "Sure, I'll start over." and
kept it."""
START_OVER_REPLY = "Okay, let's start over."
NOTHING_ASKED_RULE = "nothing_asked"
NOTHING_ASKED_REPLY = "I haven't asked you anything to say yes to."
"""A "yes" with nothing waiting for one. The base had answered "Yes." after a refusal
with "Restarting the device.", an action nobody took."""
CORRECTION_RULE = "correction"
"""The turn that answers "that's wrong" said of the last answer."""
BEST_ANSWER_REPLY = "Sorry, that was my best answer, and it may be wrong. I can't look it up here."
THINK_AGAIN = "Let me think again."
"""Said before the base answers again what the draft answered."""
MISHEARD_REPLY = "I didn't guess that one, so perhaps I heard you wrong. Please say it again."
_ACTIONS = ("service", "timer", "lists", "notes", "start_over", VOICE_RULE, LISTENING_RULE)
"""Rules whose replies report an action: never added to the models' conversation."""

T = TypeVar("T")


@dataclass(frozen=True)
class Turn:
    """What happened to one request."""

    transcript: str
    route: str
    """"pattern" (tier 0), "deterministic" (tier 0.5: arithmetic, units, dates), "llm", or
    "none" (no speech / nothing to answer)."""
    reply: str
    asr_tier: str
    """"grammar", "whisper", "none", or "text" for typed input."""
    timings_ms: dict[str, float]
    rule: str | None = None
    """The pattern rule, or the kind of deterministic answer."""
    asr: dict[str, str | None] = field(default_factory=dict)
    """Both tiers' transcripts, when audio was recognised."""
    error: str | None = None
    """"code: reason" when a stage failed and the turn degraded."""
    tier: str = ""
    """Which tier answered: "pattern", "deterministic", "draft" or "base"."""
    escalated_from: str | None = None
    """The tier whose answer was too unsure to speak, when the turn escalated."""
    domain: str = ""
    """code / math / home / general, for language-model turns."""
    uncertainty: dict[str, float] = field(default_factory=dict)
    """Token statistics of a language-model answer (see cascade.chat.Uncertainty)."""
    context: str | None = None
    """Context class of the request (stable, moving, unstable, novel); None without memory."""
    state: str = ""
    """Metabolic state the turn was answered in ("" without a metabolism)."""
    cpu_s: float | None = None
    """Measured CPU-seconds of the turn (ASR, answer, speech): the ATP it cost."""
    joules: float | None = None
    """Measured energy, where the host has a power sensor."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``--json`` output)."""
        data = asdict(self)
        data["timings_ms"] = {k: round(v, 1) for k, v in self.timings_ms.items()}
        return data


def clean_text(text: str) -> str:
    """Validate typed input: printable, not empty, not absurdly long."""
    text = _ANSI_ESCAPE.sub(" ", text)
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    printable = " ".join(printable.split())
    if not any(ch.isalnum() for ch in printable):
        raise InputTextError("no words in the input text")
    if len(printable) > MAX_TEXT_CHARS:
        raise InputTextError(
            f"input text is {len(printable)} characters; the limit is {MAX_TEXT_CHARS}"
        )
    return printable


def _ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def threaded(
    items: Iterator[T], maxsize: int, after_first: threading.Event | None = None
) -> Iterator[T]:
    """Run a blocking generator on a worker thread; hand its items over a bounded queue.

    With ``after_first``, the worker waits for that event (at most FIRST_ITEM_HOLD_S)
    after its first item: on a small CPU the voice then has the cores to itself for the
    first sentence's audio, and the model goes on while it plays.

    If the consumer stops early, the worker is told to stop after its current item and
    the producing generator is closed (which ends a llama.cpp stream).
    """
    done = object()
    box: queue.Queue[Any] = queue.Queue(maxsize)
    cancelled = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            for n, item in enumerate(items):
                if cancelled.is_set():
                    break
                box.put(item)
                if n == 0 and after_first is not None:
                    after_first.wait(FIRST_ITEM_HOLD_S)
        except BaseException as exc:  # re-raised on the consumer's thread
            failure.append(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
            box.put(done)

    worker = threading.Thread(target=work, name="sage-llm", daemon=True)
    worker.start()
    try:
        while (item := box.get()) is not done:
            yield item
    finally:
        cancelled.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.05)
        worker.join()
    if failure:
        raise failure[0]


class Pipeline:
    """Matcher, recognizer, responder and speaker, wired for one turn at a time."""

    def __init__(
        self,
        config: Config,
        models: ModelCache,
        rules: list[Rule],
        sink: Sink,
        clock: Callable[[], datetime] = datetime.now,
        store: Store | None = None,
        metabolism: Metabolism | None = None,
        snapshots: SnapshotStore | None = None,
        services: ServiceControl | None = None,
        timers: Timers | None = None,
        voice: VoiceSettings | None = None,
        lists: Lists | None = None,
        notes: Notes | None = None,
    ) -> None:
        self.config = config
        self.services = services
        """Voice control of allowlisted systemd units (None: off)."""
        self.timers = timers
        """Timers, alarms and reminders (a daemon's; a one-shot run's says it keeps none)."""
        self.voice = voice or VoiceSettings(None)
        """How loud and how fast the voice speaks."""
        self.lists = lists
        """The shopping list and others kept by voice (None: the rule no_lists says so)."""
        self.notes = notes
        """What the household asked SAGE to remember ("my car is on level 3")."""
        self.store = store
        self.metabolism = metabolism
        self.snapshots = snapshots
        self.models = models
        self.rules = rules
        skills = ["work out sums, units and dates exactly", "spell words"]
        kept = ["timers", "alarms"] if timers is not None and timers.live else []
        kept += [what for what, keeper in (("lists", lists), ("notes", notes)) if keeper]
        if kept:
            skills.append(f"keep {spoken_list(kept)}")
        if services is not None:
            skills.append("control the services on my list")
        self.matcher = PatternMatcher(rules, skills)
        self.about = About(config, store, models.catalog)
        """Questions about SAGE itself: its models, version, data and last DREAM."""
        self.sink = sink
        self.clock = clock
        self._recognizer: SpeechRecognizer | None = None
        self._responder: Responder | None = None
        self._speaker: PiperSpeaker | None = None
        self._llm_failure: str | None = None
        self._unfinished: tuple[str, datetime] | None = None
        """An arithmetic question cut off after an operator, and when it was asked."""
        self._last_exact: tuple[str, datetime] | None = None
        """The last question tier 0.5 answered, and when: a follow-up may change a part."""
        self._last_reply = ""
        """What SAGE said last, for "what did you say?" (the rule "repeat")."""
        self._last_heard = ""
        """What SAGE heard last, said back for "what did I just ask?" (the rule "heard")."""
        self._answered: tuple[str, str, str, float] | None = None
        """The last question answered, its route and tier, and when: "that's wrong" is
        said of it."""
        self._llm_lock = threading.RLock()
        """Held while the LLM answers, so a REST unload never frees a model in use."""
        self._meter = Meter()
        if metabolism is not None:
            metabolism.listen(self._on_transition)

    # -- lazily loaded stages ------------------------------------------------------

    @property
    def recognizer(self) -> SpeechRecognizer:
        """Two-tier ASR, loaded on first use."""
        if self._recognizer is None:
            grammar = None
            if self.config.asr.grammar:
                grammar = GrammarRecognizer(self.models.path("sphinx"), self.rules)
            hotwords = hotwords_for(self.rules) if self.config.asr.whisper_hotwords else ""
            whisper = WhisperRecognizer(self.models.path("whisper"), self.config.asr, hotwords)
            self._recognizer = SpeechRecognizer(
                grammar, whisper, self._is_command, self.config.asr.grammar_confirm,
                is_exact=lambda text: deterministic.answer(text, self.clock()) is not None,
            )  # fmt: skip
        return self._recognizer

    @property
    def speaker(self) -> PiperSpeaker:
        """Piper voice, loaded on first use."""
        if self._speaker is None:
            self._speaker = PiperSpeaker(
                self.models.path(self.config.tts.voice_role), self.config.tts
            )
            self._speaker.tune(*self.voice.synthesis(self.config.tts.length_scale))
        return self._speaker

    def responder(self) -> Responder:
        """The LLM cascade, its models loaded and warm; SageError when they cannot be."""
        with self._llm_lock:
            if self._responder is None:
                focus_window = 0.0
                if self.metabolism is not None:
                    focus_window = self.metabolism.settings[State.FOCUS].idle_timeout_s
                cascade = Cascade(
                    self.config, self._load_model, self._trust, self._unsure, self.snapshots,
                    self._snapshot_key, session_fresh_s=focus_window, clock=self.clock,
                )  # fmt: skip
                try:
                    cascade.warm()
                except SageError:
                    cascade.close()
                    raise
                self._responder = cascade
                self._report_cascade()
            return self._responder

    def _snapshot_key(self, role: str) -> SnapshotKey:
        import llama_cpp

        spec = self.config.role(role)
        return SnapshotKey(self.models.identity(spec.model), spec.n_ctx, llama_cpp.__version__)

    @property
    def llm_loaded(self) -> bool:
        """The language models are in memory."""
        return self._responder is not None

    def unload_llm(self) -> None:
        """Free the language models (REST); the conversation is snapshotted first, and the
        next turn reloads them, restoring from the snapshots."""
        with self._llm_lock:
            if self._responder is None:
                return
            self._responder.end_session(snapshot=True)
            self._responder.close()
            self._responder = None
            _LOGGER.info("language models unloaded")
            self._report_cascade()

    def _report_cascade(self, routing_only: bool = False) -> None:
        """The loaded models and the tiers passed over, into the daemon's status (with
        ``routing_only``, only if the tiers passed over changed)."""
        if self.metabolism is None:
            return
        responder = self._responder
        passed_over = responder.passed_over if responder is not None else {}
        if routing_only and passed_over == self.metabolism.passed_over:
            return
        self.metabolism.models = responder.loaded if responder is not None else []
        self.metabolism.passed_over = passed_over
        self.metabolism.write_status(time.time())

    def _on_transition(self, before: Phase, after: Phase, event: Event) -> None:
        """FOCUS over: snapshot the conversation and close it."""
        if before.state is State.FOCUS and after.state is not State.FOCUS:
            if after.state is State.CRISIS:
                return  # the conversation goes on, more carefully
            with self._llm_lock:
                if self._responder is not None:
                    self._responder.end_session(snapshot=True)

    def _load_model(self, tier: str, role: str, draft: CountingProposer | None) -> ChatModel:
        """A tier's model by its role in the registry; the role's fallback if it fails."""
        fallback = self.config.role(role).fallback
        try:
            return self._open_role(role, draft)
        except ModelError as exc:
            if not fallback:
                raise
            _LOGGER.error(
                "%s model unusable (%s); loading its fallback %s", role, exc.message, fallback
            )
            return self._open_role(fallback, draft)

    def _open_role(self, role: str, draft: CountingProposer | None) -> ChatModel:
        spec = self.config.role(role)
        path = self.models.path(spec.model)
        gpu_layers = self.config.llm.gpu_layers
        model = ChatModel(path, spec.n_ctx, spec.threads, gpu_layers, role=role, draft=draft)
        if spec.adapter is not None:
            try:
                model.use_adapter(spec.adapter)
            except ModelError as exc:
                _LOGGER.error("%s adapter unusable (%s); the model runs without it", role, exc)
        return model

    def _trust(self, context: str | None, tier: str) -> float:
        if self.store is None or context is None:
            return TRUST_PRIORS.get(tier, 0.5)
        return self.store.trust(context, tier, time.time())

    def _unsure(self, context: str | None, tier: str) -> None:
        if self.store is not None and context is not None:
            self.store.adjust_trust(context, tier, "failed", time.time())

    def preload(self, progress: Callable[[str], None] = lambda stage: None) -> None:
        """Load every model now (the daemon does this before it reports ready);
        ``progress`` hears of each stage before it loads."""
        progress("speech recognition")
        _ = self.recognizer
        progress("voice")
        _ = self.speaker
        progress("language models")
        try:
            self.responder()
        except SageError as exc:
            _LOGGER.error("LLM unavailable, pattern rules still answer: %s", exc)
            self._llm_failure = str(exc)

    def ping(self) -> None:
        """A heartbeat through the stages on this thread: a breath of silence through the
        recognizer, a word through the matcher, a word through the voice (not played).
        It returns only if none of them is stuck; the watchdog is fed after it."""
        self.recognizer.transcribe(bytes(int(SAMPLE_RATE * 0.3) * SAMPLE_WIDTH))
        self.matcher.match("ping", self.clock())
        for _ in self.speaker.speak("Ok."):
            pass

    def _is_command(self, text: str) -> bool:
        return self.matcher.match(text, self.clock()) is not None

    # -- turns --------------------------------------------------------------------

    def hear(
        self, utterance: Utterance, vad_ms: float = 0.0, early: Future[Transcript] | None = None
    ) -> Turn:
        """Recognise and answer one utterance; ``early`` is its recognition, started at the
        pause that the utterance ended with (the daemon starts it during the hang-over).

        Timings: "asr" is how long the answer waited for the transcript after the
        utterance closed, "asr_compute" how long recognition took wherever it ran."""
        t0 = time.perf_counter()
        if early is None:
            early = self.recognizer.begin(utterance.pcm)
        transcript = early.result()
        timings = {"vad": vad_ms, "asr": _ms_since(t0), "asr_compute": transcript.asr_ms}
        asr = {"grammar": transcript.grammar_text, "whisper": transcript.whisper_text}
        if not transcript.text:
            return self._log(Turn("", "none", "", transcript.tier, timings, asr=asr))
        measure = self._meter.start(cpu_s=transcript.cpu_s)
        heard = _Heard(transcript.tier, timings, asr, _SpeechTimer(t0, timings))
        return self._answer(transcript.text, heard, measure)

    def ask(self, text: str) -> Turn:
        """Answer typed text (InputTextError when it is not text)."""
        timings: dict[str, float] = {}
        heard = _Heard("text", timings, {}, _SpeechTimer(time.perf_counter(), timings))
        measure = self._meter.start()
        return self._answer(clean_text(text), heard, measure)

    def _answer(self, text: str, heard: _Heard, measure: Callable[[], Cost]) -> Turn:
        if self.metabolism is not None and not self.metabolism.listening:
            match = self.matcher.match(text, self.clock())
            if match is None or match.slots.get("listen") != "resume":
                _LOGGER.info("not listening: an utterance was heard, and neither answered nor kept")
                return Turn("", "none", "", heard.tier, heard.timings, rule="not_listening")
        now = time.time()
        if self.metabolism is not None:  # the matcher still sees every transcript first
            self.metabolism.utterance(text, now)
        history = self.store.history() if self.store is not None else []
        context = self._observe(text, history, now)
        state = self.metabolism.state.value if self.metabolism is not None else ""
        turn = self._respond(text, heard, context)
        self._last_reply = turn.reply or self._last_reply
        if turn.rule != CORRECTION_RULE or turn.route == "llm":  # the answer disputed stays
            self._answered = (turn.transcript, turn.route, turn.tier, now) if turn.reply else None
        if turn.rule != HEARD_RULE:
            self._last_heard = f"You {'asked' if text.endswith('?') else 'said'}: {text}"
        with self._llm_lock:
            if self._responder is not None:
                if turn.route in ("pattern", "deterministic") and turn.rule not in _ACTIONS:
                    # The models see the latest exchange answered without them ("12 times
                    # 12 is 144"); an action's result is not shown to them, lest they
                    # learn to claim one.
                    self._responder.remember(text, turn.reply)
                self._responder.prime()
        cost = measure()
        turn = dataclasses.replace(
            turn, context=context, state=state, cpu_s=round(cost.cpu_s, 3), joules=cost.joules
        )
        if self.metabolism is not None:
            self.metabolism.spend(cost, time.time())
        self._remember(turn, history, now)
        return self._log(turn)

    def _respond(self, text: str, heard: _Heard, context: str | None) -> Turn:
        now = time.time()
        t_match = time.perf_counter()
        match = self.matcher.match(text, self.clock())
        heard.timings["match"] = _ms_since(t_match)
        if (said := self._tier0(text, match, now)) is not None:
            reply, rule = said
            return self._exact_turn(text, "pattern", reply, rule, heard)
        if (again := self._corrected(text, now, heard)) is not None:
            return again
        t_exact = time.perf_counter()
        exact = self._exact_answer(text)
        heard.timings["deterministic"] = _ms_since(t_exact)
        if exact is not None:
            return self._exact_turn(text, "deterministic", exact.reply, exact.kind, heard)
        services = self.services
        if services is not None and services.mentions_unit(text):
            said_back = self._propose_service(services, text, now)
            if said_back is not None:
                self._say(said_back, heard.speech)
                return heard.turn(text, "llm", said_back, "service", tier="base")
        return self._llm_turn(text, heard, context)

    def _tier0(self, text: str, match: Match | None, now: float) -> tuple[str, str] | None:
        """Tier 0's (reply, rule), or None: SAGE's own side of the conversation, then a
        confirmation waiting, timers, lists and notes, the rules, services, SAGE itself,
        and starting over, tried in that order."""
        services = self.services
        if match is not None and (own := self._own_reply(match, text)) is not None:
            return own, match.rule  # before a pending "restart nginx?", which still waits
        # A pending "restart nginx?" is answered by whatever comes next, before other rules.
        if services is not None and (said := services.confirm(text, now)) is not None:
            return said, "service"
        if self._nothing_asked(text):
            return NOTHING_ASKED_REPLY, NOTHING_ASKED_RULE
        # Timers before the rules: no_timers speaks only for what they cannot place.
        if self.timers is not None and (said := self.timers.answer(text, now)) is not None:
            return said, "timer"
        if self.lists is not None and (said := self.lists.answer(text)) is not None:
            return said, "lists"
        if self.notes is not None and (said := self.notes.answer(text, now)) is not None:
            return said, "notes"
        if match is not None:
            return match.reply, match.rule
        if services is not None and (said := services.answer(text, now)) is not None:
            return said, "service"
        if (said := self.about.answer(text)) is not None:
            return said, "about"
        if _START_OVER.match(normalise(text)):
            self._start_over()
            return START_OVER_REPLY, "start_over"
        return None

    def announce_timers(self) -> list[str]:
        """Say each timer, alarm or reminder that is due (the daemon calls this between
        turns)."""
        said = self.timers.due(time.time()) if self.timers is not None else []
        for text in said:
            _LOGGER.info("timer done: %s", text)
            self._say(text, _SpeechTimer(time.perf_counter(), {}))
        return said

    def _nothing_asked(self, text: str) -> bool:
        """ "Yes" when no confirmation waits and SAGE's last words asked nothing ("okay" is
        an acknowledgement, and goes on)."""
        said = normalise(text)
        asked = self._last_reply.rstrip().endswith("?")
        return not asked and said not in ("okay", "ok") and YES.match(said) is not None

    def _corrected(self, text: str, now: float, heard: _Heard) -> Turn | None:
        """ "That's wrong", said of the last answer. The draft's is taken out of the
        conversation and the question answered again by the base; the base's is not said
        again (asked, it said "I apologize for the mistake." and the same answer, every
        time); an exact or a rule's answer was perhaps misheard. The trust in the tier that
        answered falls either way (_observe)."""
        last = self._answered
        if last is None or now - last[3] > scoring.SESSION_S:
            return None
        if not scoring.BARE_CORRECTION.match(normalise(text)):
            return None
        question, route, tier, _ = last
        if route != "llm" or tier != "draft":
            reply = BEST_ANSWER_REPLY if route == "llm" else MISHEARD_REPLY
            return self._exact_turn(text, "pattern", reply, CORRECTION_RULE, heard)
        self._say(THINK_AGAIN, heard.speech)
        with self._llm_lock:
            if self._responder is not None:
                self._responder.retract()
        again = self._llm_turn(question, heard, "unstable")
        return dataclasses.replace(
            again, reply=f"{THINK_AGAIN} {again.reply}", rule=CORRECTION_RULE
        )

    def _own_reply(self, match: Match, text: str) -> str | None:
        """The reply to a rule about SAGE's own side of the conversation: what it said or
        heard last, whether it listens, how its voice sounds (None: another rule)."""
        if match.rule == REPEAT_RULE:
            return self._last_reply or match.reply
        if match.rule == HEARD_RULE:
            return self._last_heard or match.reply
        if match.rule == LISTENING_RULE and self.metabolism is not None:
            return self._listen(match.slots["listen"])
        if match.rule == VOICE_RULE:
            changed = self.voice.change(match.slots, normalise(text))
            self.speaker.tune(*self.voice.synthesis(self.config.tts.length_scale))
            return changed
        return None

    def _listen(self, change: str) -> str:
        """ "Stop listening", "start listening", "are you listening?" (a daemon's)."""
        assert self.metabolism is not None
        self.metabolism.listening = change != "pause"
        self.metabolism.write_status(time.time())
        if change == "pause":
            return "Okay, I'll stop listening until you say: start listening."
        return "I'm listening." if change == "resume" else "Yes, I'm listening."

    def _start_over(self) -> None:
        """Close the conversation (no snapshot) and forget the last exact question."""
        with self._llm_lock:
            if self._responder is not None:
                self._responder.end_session(snapshot=False)
        self._unfinished = self._last_exact = None

    def _exact_answer(self, text: str) -> deterministic.Answer | None:
        """Tier 0.5. After "3 plus what?", the next utterance may finish the question
        ("four": "3 plus 4 is 7"); after an exact answer, it may follow on from it ("and
        times 3", "what about Sunday"); otherwise it is a question of its own."""
        now = self.clock()
        unfinished, self._unfinished = self._unfinished, None
        last, self._last_exact = self._last_exact, None
        fresh = lambda asked: (now - asked[1]).total_seconds() <= FOLLOW_UP_S  # noqa: E731
        question, exact = text, None
        if unfinished is not None and fresh(unfinished):
            question = f"{unfinished[0]} {text}"
            exact = deterministic.answer(question, now)
            if exact is not None and exact.unfinished is not None:
                exact = None
        if exact is None:
            question, exact = text, deterministic.answer(text, now)
        if exact is None and last is not None and fresh(last):
            question, exact = deterministic.follow_up(text, last[0], now) or (text, None)
        if exact is None and self._last_reply:  # "how many years ago was that?"
            question, exact = deterministic.that_year(text, self._last_reply, now) or (text, None)
        if exact is not None and exact.unfinished is not None:
            self._unfinished = (exact.unfinished, now)
        elif exact is not None:
            self._last_exact = (question, now)
        return exact

    def _propose_service(self, services: ServiceControl, text: str, now: float) -> str | None:
        """A language model proposes an intent for a request that names a unit in other
        words; it passes the same allowlist and confirmation (None: no action asked)."""
        system, request, options = services.proposal(text)
        try:
            with self._llm_lock:
                choice = self.responder().choose(system, request, options)
        except SageError as exc:
            _LOGGER.error("no model to read the service request: %s", exc)
            return None
        _LOGGER.info("service intent proposed by the model: %r for %r", choice, text)
        return services.proposed(text, choice, now)

    def _exact_turn(self, text: str, route: str, reply: str, rule: str, heard: _Heard) -> Turn:
        """Speak a tier-0 or tier-0.5 answer (the route is also the tier)."""
        self._say(reply, heard.speech)
        return heard.turn(text, route, reply, rule, tier=route)

    def _llm_turn(self, text: str, heard: _Heard, context: str | None) -> Turn:
        stats = Generation()
        timings, speech = heard.timings, heard.speech
        error: str | None = None
        sentences: list[str] = []
        allowance = self.metabolism.allowance(time.time()) if self.metabolism else None
        try:
            with self._llm_lock:
                # A model load (first use, or a wake from REST) is reported apart and kept
                # out of first_audio.
                t_load = time.perf_counter()
                responder = self.responder()
                if (load_ms := _ms_since(t_load)) > 1.0:
                    timings["llm_load"] = load_ms
                    speech.exclude(load_ms)
                answer = responder.respond(text, stats, context, allowance)
                for sentence in threaded(answer, SENTENCE_QUEUE, speech.started):
                    sentences.append(sentence)
                    self._say(sentence, speech)
        except SageError as exc:
            error = str(exc)
            if error != self._llm_failure:
                _LOGGER.error("LLM unavailable: %s", exc)
                self._llm_failure = error
        if stats.first_token_ms is not None:
            timings["llm_first_token"] = stats.first_token_ms
            timings["llm_total"] = stats.total_ms
        if not sentences:
            fallback = LLM_UNAVAILABLE_REPLY if error else "Sorry, I have no answer to that."
            sentences.append(fallback)
            self._say(fallback, speech)
        for call in stats.calls:
            self._audit(call)
        self._report_cascade(routing_only=True)
        return heard.turn(
            text, "llm", " ".join(sentences), error=error, tier=stats.tier or "base",
            escalated_from=stats.escalated_from, domain=stats.domain,
            uncertainty=stats.uncertainty.as_dict() if stats.logprobs else {},
        )  # fmt: skip

    def _audit(self, call: ModelCall) -> None:
        """One log line and one audit row per model call."""
        _LOGGER.info(
            "model call role=%s model=%s tier=%s tokens=%d+%d latency=%.0fms outcome=%s",
            call.role, call.model, call.tier, call.prompt_tokens, call.completion_tokens,
            call.latency_ms, call.outcome,
        )  # fmt: skip
        if self.store is not None:
            self.store.record_call(
                call.role, call.model, call.tier, call.prompt_tokens, call.completion_tokens,
                call.latency_ms, call.outcome,
            )  # fmt: skip

    def _observe(self, text: str, history: list[str], now: float) -> str | None:
        """Judge the previous turn by this one (trust moves), and classify this request."""
        if self.store is None or not self.store.available:
            return None
        last = self.store.previous()
        previous = None
        if last is not None:
            last_id, previous, last_context, last_tier = last
            outcome = scoring.observe_outcome(previous, text, now)
            if outcome is not None and previous.outcome == "unknown":
                self.store.observe(last_id, outcome, last_context, last_tier, now)
                previous = dataclasses.replace(previous, outcome=outcome)
                if self.metabolism is not None:
                    self.metabolism.outcome(outcome in scoring.FAILURES, now)
        return scoring.context_class(text, previous, history, now)

    def _remember(self, turn: Turn, history: list[str], now: float) -> None:
        """Store the turn as an experience (the input DREAM selects from)."""
        if self.store is None or turn.context is None:
            return
        heard = [t for t in turn.asr.values() if t]
        disagreed = len(heard) == 2 and normalise(heard[0]) != normalise(heard[1])
        surprise = 1.0 - turn.uncertainty.get("low_prob", 1.0)
        salience = scoring.snarc(turn.transcript, history, surprise, disagreed)
        self.store.record(
            Experience(
                at=now, transcript=turn.transcript, route=turn.route, tier=turn.tier,
                asr_tier=turn.asr_tier, reply=turn.reply, context=turn.context,
                timings=turn.timings_ms, uncertainty=turn.uncertainty, snarc=salience,
                error=turn.error, domain=turn.domain, cpu_s=turn.cpu_s, joules=turn.joules,
                state=turn.state,
            )
        )  # fmt: skip

    def _say(self, sentence: str, speech: _SpeechTimer) -> None:
        speech.sentence_ready()
        try:
            for chunk in self.speaker.speak(sentence):
                speech.audio_ready()
                self.sink.write(chunk)
        except SageError:
            raise
        except Exception:  # a TTS or device failure must not end the turn
            _LOGGER.exception("could not speak %r", sentence)

    def _log(self, turn: Turn) -> Turn:
        stages = " ".join(f"{k}={v:.0f}ms" for k, v in turn.timings_ms.items())
        heard = " ".join(f"{tier}={text!r}" for tier, text in turn.asr.items() if text is not None)
        _LOGGER.info(
            "turn route=%s asr=%s rule=%s %s transcript=%r %s",
            turn.route,
            turn.asr_tier,
            turn.rule,
            stages,
            turn.transcript,
            heard,
        )
        return turn

    def close(self) -> None:
        """Snapshot the conversation, free the models, then close the store."""
        if self._recognizer is not None:
            self._recognizer.close()
        self.unload_llm()
        if self.store is not None:
            self.store.close()


@dataclass(frozen=True)
class _Heard:
    """How a request came in, carried through its turn."""

    tier: str
    """The ASR tier that gave the transcript, or "text" for typed input."""
    timings: dict[str, float]
    """The turn's per-stage milliseconds, filled in as it goes."""
    asr: dict[str, str | None]
    """Both ASR tiers' transcripts (empty for typed input)."""
    speech: _SpeechTimer
    """The clock of the turn's first audio."""

    def turn(self, text: str, route: str, reply: str, rule: str | None = None,
             **fields: Any) -> Turn:  # fmt: skip
        """The Turn of this request."""
        return Turn(text, route, reply, self.tier, self.timings, rule, self.asr, **fields)


class _SpeechTimer:
    """Records tts_first_audio (first sentence → its audio) and first_audio (turn start →)."""

    def __init__(self, t0: float, timings: dict[str, float]) -> None:
        self._t0 = t0
        self._timings = timings
        self._sentence_at: float | None = None
        self.started = threading.Event()
        """Set when the first audio is ready (the LLM may go on generating)."""

    def exclude(self, ms: float) -> None:
        """Leave ``ms`` (a model load) out of first_audio."""
        self._t0 += ms / 1000

    def sentence_ready(self) -> None:
        if self._sentence_at is None:
            self._sentence_at = time.perf_counter()

    def audio_ready(self) -> None:
        if "first_audio" in self._timings or self._sentence_at is None:
            return
        now = time.perf_counter()
        self._timings["tts_first_audio"] = (now - self._sentence_at) * 1000
        self._timings["first_audio"] = (now - self._t0) * 1000
        self.started.set()
