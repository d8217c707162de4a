"""The trust-selected LLM cascade: the cheapest trusted tier answers; uncertainty escalates.

Tiers in cost order: ``draft`` (Qwen2.5-Coder-0.5B alone) and ``base`` (the 1.5B). The
choice is :func:`select_tier`; while the chosen tier streams, each sentence's token
statistics are checked, and an unsure first sentence from the draft is never spoken: the
base answers instead, and the draft loses trust for that context class.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sage.cascade.adapters import adapter_for, adapters_dir, classify_domain, draft_adapter
from sage.cascade.chat import Uncertainty
from sage.cascade.handover import HandOvers
from sage.cascade.onnx_draft import OnnxDraft
from sage.cascade.remote import RemoteChatModel, RemoteUnavailable
from sage.cascade.sentences import ends_mid_sentence, split_sentences
from sage.cascade.speculation import (
    CountingProposer,
    DraftProposer,
    SpeculationSwitch,
    resolve_mode,
)
from sage.config import Config
from sage.errors import ModelError
from sage.host import llama_gpu_offload
from sage.metabolism.ledger import Meter
from sage.metabolism.metabolism import Allowance
from sage.metabolism.snapshots import Restored, SnapshotKey, SnapshotStore
from sage.patterns.emergency import local_numbers

_LOGGER = logging.getLogger(__name__)

TIERS = ("draft", "base", "modifier")
"""Language-model tiers, cheapest first. The modifier (the base with the request's domain
adapter) is reached only by escalation from an unsure base answer."""
DEFAULT_COST_S = {"draft": 3.0, "base": 8.0, "modifier": 9.0}
"""Expected CPU-seconds of a short spoken answer (2 threads), before any are measured."""
SESSION_EXCHANGES = 6
"""Most previous exchanges of the open conversation kept in the prompt (FOCUS)."""
SESSION_KEPT = 2
"""Exchanges left when the window is full. They are dropped in a block, so the prompt's
cached prefix holds for several turns: a window sliding by one made every turn evaluate
the whole conversation again (about 150 tokens, 1.1 to 1.3 s of first token here)."""
CAUTIOUS_CONTEXTS = frozenset({"novel", "unstable", None})
"""Context classes where the most capable tier answers, whatever the trust."""


@dataclass(frozen=True)
class ModelCall:
    """One model call, for the audit table and the log."""

    role: str
    model: str
    tier: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    outcome: str
    """"spoken", "escalated" (unsure, not spoken) or "error"."""
    first_token_ms: float | None = None
    """From the call's start; the rest of the latency is decoding."""
    first_sentence_ms: float | None = None
    """From the call's start to its first whole sentence (or first clause)."""

    @property
    def decode_tokens_per_s(self) -> float | None:
        """Tokens per second after the first token (prompt evaluation left out)."""
        if self.first_token_ms is None or self.completion_tokens < 2:
            return None
        decoding_ms = self.latency_ms - self.first_token_ms
        return (self.completion_tokens - 1) / decoding_ms * 1000 if decoding_ms > 0 else None


@dataclass
class Generation:
    """Figures from one streamed answer, filled in while it streams."""

    tier: str = ""
    domain: str = ""
    escalated_from: str | None = None
    speculation: dict[str, float] = field(default_factory=dict)
    """Proposed / accepted draft tokens when the base decoded speculatively."""
    first_token_ms: float | None = None
    logprobs: list[float] = field(default_factory=list)
    """Per-token log-probabilities of the spoken answer."""
    sentences: list[str] = field(default_factory=list)
    calls: list[ModelCall] = field(default_factory=list)
    total_ms: float = 0.0

    @property
    def uncertainty(self) -> Uncertainty:
        """Token statistics of the spoken answer."""
        return Uncertainty.of(self.logprobs)


class TokenStream(Protocol):
    """A chat model that streams (text piece, log-probability) pairs: local or remote."""

    role: str
    name: str

    def prompt_tokens(self, messages: list[dict[str, str]]) -> tuple[list[int], list[str]]:
        """Prompt token ids (empty when unknown) and stop strings."""
        ...

    def stream(
        self, messages: list[dict[str, str]], max_tokens: int
    ) -> Iterator[tuple[str, float]]:
        """Greedy continuation, token by token."""
        ...

    def warm(self, messages: list[dict[str, str]]) -> None:
        """Evaluate a standing prompt ahead of time."""
        ...

    def close(self) -> None:
        """Free the model."""
        ...


class Responder(Protocol):
    """Answers a transcript that no rule covered, sentence by sentence."""

    def respond(
        self,
        text: str,
        stats: Generation,
        context: str | None = None,
        allowance: Allowance | None = None,
    ) -> Iterator[str]:
        """Yield complete sentences of the answer as they are generated."""
        ...

    def end_session(self, snapshot: bool) -> None:
        """The conversation is over; snapshot its KV cache first when ``snapshot``."""
        ...

    def choose(self, system: str, text: str, options: list[str]) -> str:
        """Let a local model pick one of ``options`` for ``text`` (the last is the default)."""
        ...

    def remember(self, text: str, reply: str) -> None:
        """An exchange answered without the models, put in the open conversation so that a
        follow-up has it ("what number did you just tell me?")."""
        ...

    def retract(self) -> None:
        """Take the models' last answer out of the open conversation (the household said
        it was wrong), so that the next answer does not copy it."""
        ...

    def prime(self) -> None:
        """Bring the models' caches up to the open conversation while the reply plays."""
        ...

    @property
    def loaded(self) -> list[str]:
        """File names of the loaded models."""
        ...

    @property
    def passed_over(self) -> dict[str, list[str]]:
        """Per tier, the request domains it is passed over for (it keeps handing them over)."""
        ...

    def warm(self) -> None:
        """Load the models and evaluate the standing prompt."""
        ...

    def close(self) -> None:
        """Free the models."""
        ...


def select_tier(
    context: str | None,
    trust: Mapping[str, float],
    expected_cost_s: Mapping[str, float],
    available: Sequence[str],
    budget_left_s: float,
    min_trust: float,
    passed_over: Collection[str] = (),
) -> str:
    """Choose the answering tier.

    1. Affordable tiers are those whose expected cost fits the budget left; when none
       fits, the cheapest available one (a request is never dropped for lack of budget).
    2. For a novel or unstable context (or none known), the most capable affordable tier.
    3. Otherwise the cheapest affordable tier trusted at least ``min_trust`` for this
       context and not ``passed_over`` (a try that does not pay for this kind of request:
       :mod:`sage.cascade.handover`); if none is, the most trusted affordable tier.
    """
    ordered = [t for t in TIERS if t in available]
    if not ordered:
        raise ValueError("no language-model tier is available")
    affordable = [t for t in ordered if expected_cost_s.get(t, 0.0) <= budget_left_s]
    if not affordable:
        return ordered[0]
    if context in CAUTIOUS_CONTEXTS:
        return affordable[-1]
    trusted = [t for t in affordable if trust.get(t, 0.0) >= min_trust and t not in passed_over]
    if trusted:
        return trusted[0]
    return max(affordable, key=lambda t: (trust.get(t, 0.0), affordable.index(t)))


_ABOUT_NOW = re.compile(
    r"\b(?:today|tonight|tomorrow|yesterday|now|ago|since|until|till|born|weekend|how old"
    r"|(?:this|current|what) (?:year|month|week|day|date|time|season)"
    r"|hora|fecha|hoy|heure|aujourd|uhr|spät|heute|datum|oggi)\b",  # typed in another tongue
    re.IGNORECASE,
)


_ABOUT_HARM = re.compile(
    r"\b(?:emergenc|ambulance|heart attack|stroke|bleeding|unconscious|not breathing"
    r"|can't breathe|choking|overdose|poison|swallowed|seizure|on fire|fire (?:in|at)|police)",
    re.IGNORECASE,
)


_CREATIVE = re.compile(
    r"^(?:(?:can|could|would|will) you )?(?:please )?(?:tell|write|make up|sing|compose|give)"
    r"(?: me| us)? (?:a|an|another|one more|some)\b.*\b(?:story|stories|poem|poems|jokes?"
    r"|riddles?|limerick|haiku|song|lullaby|rhyme)\b",
    re.IGNORECASE,
)


_AGREED = r"(?:sure|of course|certainly|absolutely|okay|ok|alright|no problem|yes)[,!.]? "
_EMPTY_PROMISE = re.compile(
    rf"^(?:{_AGREED})?(?:i can|i could|i'd be happy to|i would be happy to|i'll|i will|let me) "
    r"(?:help(?: you)?|do (?:that|this|it)|take care of|handle)\b(?: [\w']+){0,6}[.!]?$"
    rf"|^{_AGREED}(?:i'll|i will|let me) [\w']+(?: [\w']+){{0,6}}[.!]?$",
    re.IGNORECASE,
)
"""A sentence that promises to do something and does nothing: "Sure, I can help you with
that.", "Sure, I'll order more coffee." The base said such things to "email my boss",
"order more coffee" and "make it warmer in here", and stopped there."""
_ASKS_HELP = re.compile(r"\b(?:help|favou?r|advice|explain|teach)\b", re.IGNORECASE)
CANNOT_DO = "I can't do that myself."
"""Said instead of an empty promise to a request to act."""


def is_empty_promise(sentence: str, request: str) -> bool:
    """An empty promise, said to a request to act rather than one for help in words."""
    return _EMPTY_PROMISE.match(sentence) is not None and not _ASKS_HELP.search(request)


def is_creative(text: str) -> bool:
    """A story, poem, song, joke or riddle asked for: "Tell me a story about a dragon."."""
    return _CREATIVE.match(text) is not None


def with_notes(text: str, now: datetime) -> str:
    """A request about the present carries the date and time: a language model has no
    clock ("The current year is 2023."). One about harm carries the host country's
    emergency number: the base said "call 911" in any country. Other requests stay as
    they were: about 20 more prompt tokens cost the base some 250 ms of first token on 2
    cores."""
    if _ABOUT_NOW.search(text):
        clock = now.strftime("%I:%M %p").lstrip("0")
        text = f"{text}\n(It is {now:%A, %B} {now.day}, {now.year}, {clock}.)"
    if _ABOUT_HARM.search(text) and (numbers := local_numbers()) is not None:
        text = f"{text}\n({numbers})"
    return text


class Cascade:
    """Draft and base models behind one :class:`Responder`."""

    def __init__(
        self,
        config: Config,
        load: Callable[[str, str, CountingProposer | None], TokenStream],
        trust: Callable[[str | None, str], float] = lambda context, tier: 0.0,
        on_unsure: Callable[[str | None, str], None] = lambda context, tier: None,
        snapshots: SnapshotStore | None = None,
        snapshot_key: Callable[[str], SnapshotKey] | None = None,
        session_fresh_s: float = 0.0,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.config = config
        self._clock = clock
        self._load = load
        """(tier, catalog role, draft proposer for speculation or None) → a loaded model."""
        self._trust = trust
        self._on_unsure = on_unsure
        """Told when a tier's answer was too unsure to speak (trust goes down)."""
        self._models: dict[str, TokenStream] = {}
        remote = config.remote
        self._remote = (
            RemoteChatModel(remote.url, remote.model, remote.timeout_s) if remote.url else None
        )
        self._remote_down_until = 0.0
        self.costs_s = dict(DEFAULT_COST_S)
        """Running estimate of each tier's cost per answer, from measured calls."""
        self.handovers = HandOvers()
        """Per domain, how often each tier's answer was too unsure and handed over."""
        self.switch = SpeculationSwitch(
            resolve_mode(config.cascade.speculation, llama_gpu_offload())
        )
        self.proposer: CountingProposer | None = None
        self._broken: set[str] = set()
        """Tiers whose model failed to load."""
        self._speculating = False
        self._snapshots = snapshots if snapshot_key is not None else None
        self._snapshot_key = snapshot_key
        """Catalog role → the key a snapshot of that model's context must match."""
        self._session_fresh_s = session_fresh_s
        """The focus window: a conversation snapshot younger than this is resumed at load.
        0 (one-shot use) keeps no conversation at all."""
        self._standing = config.llm.standing_prompt()
        self._standing_sha = hashlib.sha256(self._standing.encode()).hexdigest()
        self.session: list[dict[str, str]] = []
        """The open conversation's previous exchanges (user, assistant, ...)."""
        self._unseen = False
        """The conversation ends with an exchange the models did not answer."""
        self.restored: dict[str, int] = {}
        """Snapshots restored at load: name → tokens."""
        self._meter = Meter()

    @property
    def available(self) -> list[str]:
        """The tiers that may be selected (the modifier is reached by escalation only)."""
        configured = ["draft", "base"] if self.config.cascade.draft_role else ["base"]
        return [tier for tier in configured if tier not in self._broken]

    @property
    def adapters_dir(self) -> Path:
        """Where domain adapters are looked up."""
        return adapters_dir(self.config)

    def model(self, tier: str) -> TokenStream:
        """The tier's model, loaded on first use (the base with the draft as its proposer)."""
        if tier not in self._models:
            cascade = self.config.cascade
            role = cascade.draft_role if tier == "draft" else self.config.llm.role
            if tier == "base" and "draft" in self.available and self.switch.mode != "off":
                try:
                    self.proposer = self._proposer()
                except ModelError as exc:
                    _LOGGER.error("no draft proposals, decoding plainly: %s", exc)
            proposer = self.proposer if tier == "base" else None
            model = self._models[tier] = self._load(tier, role, proposer)
            adapter = draft_adapter(self.config)
            use_adapter = getattr(model, "use_adapter", None)
            if tier == "draft" and adapter.is_file() and use_adapter is not None:
                try:  # the draft as DREAM taught it
                    use_adapter(adapter)
                except ModelError as exc:
                    _LOGGER.error("draft adapter unusable (%s); the draft runs without it", exc)
        return self._models[tier]

    def _proposer(self) -> CountingProposer | None:
        """The draft seam for speculation: llama.cpp's GGUF draft or the ONNX export."""
        cascade = self.config.cascade
        enabled = lambda: self._speculating  # noqa: E731
        if cascade.draft_backend == "onnx":
            path = cascade.onnx_draft or (
                self.config.paths.cache_dir / "onnx" / f"{cascade.draft_role}.onnx"
            )
            return OnnxDraft(path, cascade.draft_tokens, enabled, self.config.llm.n_ctx)
        drafter = getattr(self.model("draft"), "llm", None)
        return DraftProposer(drafter, cascade.draft_tokens, enabled) if drafter else None

    def standing(self) -> list[dict[str, str]]:
        """The standing prefix: the system prompt (with the household facts)."""
        return [{"role": "system", "content": self._standing}]

    def messages(self, text: str) -> list[dict[str, str]]:
        """Standing prefix, the open conversation, then the request."""
        return [*self.standing(), *self.session, {"role": "user", "content": text}]

    @property
    def loaded(self) -> list[str]:
        """File names of the loaded models."""
        return [model.name for model in self._models.values()]

    @property
    def passed_over(self) -> dict[str, list[str]]:
        """Per tier, the request domains it is passed over for (:mod:`.handover`)."""
        return self.handovers.passed_over(self.available)

    # -- KV-cache snapshots ----------------------------------------------------------

    def _local(self) -> list[Any]:
        """Loaded models that can save and load llama.cpp state files."""
        return [m for m in self._models.values() if hasattr(m, "save_state")]

    def _restore(self, model: Any) -> None:
        """The conversation if its snapshot is fresh, else the standing prefix, else cold
        (the prefix is evaluated and snapshotted for next time)."""
        if self._snapshots is not None and self._snapshot_key is not None:
            key = self._snapshot_key(model.role)
            t0 = time.perf_counter()
            for name in (f"session-{model.role}", f"prefix-{model.role}"):
                restored = self._snapshots.load(name, key, model.load_state)
                if restored is not None and self._usable(name, restored):
                    n = self.restored[name] = len(restored.tokens)
                    ms = (time.perf_counter() - t0) * 1000
                    _LOGGER.info("restored %s: %d tokens in %.0f ms", name, n, ms)
                    return
        model.warm(self.standing())
        if self._snapshots is not None and self._snapshot_key is not None:
            key = self._snapshot_key(model.role)
            meta = {"standing": self._standing_sha}
            self._snapshots.save(f"prefix-{model.role}", key, model.save_state, meta)

    def _usable(self, name: str, restored: Restored) -> bool:
        """A snapshot of another standing prompt, or a stale conversation, is not used."""
        if restored.meta.get("standing") != self._standing_sha:
            _LOGGER.info("snapshot %s holds another standing prompt; starting cold", name)
            return False
        if name.startswith("session-"):
            fresh = time.time() - restored.saved_at < self._session_fresh_s
            messages = restored.meta.get("messages")
            if not fresh or not isinstance(messages, list):
                _LOGGER.info("conversation snapshot is stale; starting from the prefix")
                return False
            self.session = messages
        return True

    def choose(self, system: str, text: str, options: list[str]) -> str:
        """The most capable local model picks one of ``options`` (grammar-constrained)."""
        for tier in reversed(self.available):
            model = self.model(tier)
            if hasattr(model, "choose"):
                messages = [{"role": "system", "content": system},
                            {"role": "user", "content": text}]  # fmt: skip
                return str(model.choose(messages, options))
        return options[-1]

    def end_session(self, snapshot: bool) -> None:
        """Close the conversation; first snapshot each model's context when asked."""
        if snapshot and self.session and self._snapshots is not None and self._snapshot_key:
            for model in self._local():
                self._snapshots.save(
                    f"session-{model.role}", self._snapshot_key(model.role), model.save_state,
                    meta={"standing": self._standing_sha, "messages": self.session},
                )  # fmt: skip
        self.session, self._unseen = [], False

    def warm(self) -> None:
        """Load every tier and evaluate the system prompt (later turns reuse it).

        A tier whose model cannot load is left out (logged once) and the others serve:
        without the base the draft answers everything; only when no tier loads is the
        ModelError raised.
        """
        failures: list[ModelError] = []
        for tier in self.available:
            try:
                model = self.model(tier)
                if hasattr(model, "load_state"):
                    self._restore(model)
                else:
                    model.warm(self.standing())
            except ModelError as exc:
                _LOGGER.error("%s tier unavailable, serving without it: %s", tier, exc)
                self._broken.add(tier)
                failures.append(exc)
        if not self.available:
            raise failures[0]

    def respond(
        self,
        text: str,
        stats: Generation,
        context: str | None = None,
        allowance: Allowance | None = None,
    ) -> Iterator[str]:
        """Stream the answer of the selected tier, escalating an unsure draft.

        The state's allowance limits the tiers and the budget (a turn never spends more
        than ``cascade.turn_budget_s``); in CRISIS the most capable tier answers.
        """
        t0 = time.perf_counter()
        allowed = allowance.tiers if allowance is not None else TIERS
        selectable = [t for t in self.available if t in allowed] or self.available
        trust = {tier: self._trust(context, tier) for tier in selectable}
        budget = self.config.cascade.turn_budget_s
        if allowance is not None:
            budget = min(budget, allowance.budget_left_s)
        domain = stats.domain = classify_domain(text)
        if allowance is not None and allowance.most_capable:
            tier = selectable[-1]
        elif is_creative(text) and "base" in selectable:
            tier = "base"  # the draft told "a bedtime story" as "a story that occurs at night"
        else:
            tier = self._select(context, trust, selectable, budget, domain)
        text = with_notes(text, self._clock())
        adapter = adapter_for(self.adapters_dir, domain)
        can_modify = adapter is not None and "base" in selectable and "modifier" in allowed
        tiers = [*selectable, "modifier"] if can_modify else selectable
        _LOGGER.debug("context=%s trust=%s domain=%s → %s", context, trust, domain, tier)
        while True:
            stats.tier = tier
            if tier == "modifier":
                escalate = yield from self._speak_modified(adapter, text, stats, t0)
            else:
                last = tier == tiers[-1]
                escalate = yield from self._speak_tier(tier, text, stats, t0, last, context)
                if not last:
                    self.handovers.record(tier, domain, escalate)
            if not escalate:
                break
            self._on_unsure(context, tier)
            stats.escalated_from = tier
            tier = tiers[tiers.index(tier) + 1]
        stats.total_ms = (time.perf_counter() - t0) * 1000
        for handed, answered in zip(stats.calls, stats.calls[1:], strict=False):
            ms, next_ms = handed.first_sentence_ms, answered.first_sentence_ms
            if handed.outcome == "escalated" and ms is not None and next_ms is not None:
                self.handovers.compared(handed.tier, ms, next_ms)
        if stats.sentences:
            self._converse(text, " ".join(stats.sentences))
            self._unseen = False

    def _select(
        self,
        context: str | None,
        trust: Mapping[str, float],
        selectable: list[str],
        budget: float,
        domain: str,
    ) -> str:
        """:func:`select_tier`, passing over a tier whose try does not pay for this
        domain's requests (tried again one request in ``handover.RETRY_EVERY``)."""
        min_trust, costs = self.config.cascade.min_trust, self.costs_s
        tier = select_tier(context, trust, costs, selectable, budget, min_trust)
        unpaying = self.handovers.unpaying(selectable, domain)
        if tier not in unpaying or not self.handovers.sits_out(tier, domain):
            return tier
        _LOGGER.info(
            "%s passed over for a %s request: %.0f%% of its answers handed over",
            tier, domain, 100 * self.handovers.rate(tier, domain),
        )  # fmt: skip
        return select_tier(context, trust, costs, selectable, budget, min_trust, unpaying)

    def remember(self, text: str, reply: str) -> None:
        """Only the latest exchange answered without the models is kept at the end of the
        conversation: a run of them (sums, the date, a spelling) would fill the window and
        push out the exchanges the models answered, and evaluating them costs (1.7 s more
        first audio for six, measured before the caches were primed)."""
        if self._unseen:
            self.session = self.session[:-2]
        self._converse(text, reply)
        self._unseen = bool(self.session)

    def retract(self) -> None:
        """Drop the last exchange when the models answered it."""
        if self.session and not self._unseen:
            self.session = self.session[:-2]

    def prime(self) -> None:
        """Queue each local model's evaluation of the conversation so far, behind the turn
        that produced it. Without it the next turn evaluates the exchanges its tier has not
        seen: the last one after a rule's answer, the draft's when the base answers next
        (tens of tokens, half a second on the base here)."""
        if self.session:
            messages = [*self.standing(), *self.session]
            for model in self._local():
                model.prime(messages)

    def _converse(self, text: str, reply: str) -> None:
        if self._session_fresh_s > 0:  # a daemon's conversation; one-shot use keeps none
            exchange = [{"role": "user", "content": text},
                        {"role": "assistant", "content": reply}]  # fmt: skip
            session = [*self.session, *exchange]
            if len(session) > 2 * SESSION_EXCHANGES:
                session = session[-2 * SESSION_KEPT :]
            self.session = session

    def _speak_modified(
        self, adapter: Path | None, text: str, stats: Generation, t0: float
    ) -> Generator[str, None, bool]:
        """The base model with the request's domain adapter on, then back as it was."""
        base = self.model("base")
        use_adapter = getattr(base, "use_adapter", None)
        if adapter is None or use_adapter is None:
            return False
        previous = getattr(base, "adapter", None)  # the role's own adapter, if configured
        try:
            use_adapter(adapter)
        except ModelError as exc:
            _LOGGER.error("modifier %s unusable (%s); the base answers as it is", adapter, exc)
            stats.tier = "base"
            return (yield from self._speak(base, "base", text, stats, t0, last=True))
        try:
            return (yield from self._speak(base, "modifier", text, stats, t0, last=True))
        finally:
            use_adapter(previous)

    def _speak_tier(
        self, tier: str, text: str, stats: Generation, t0: float, last: bool, context: str | None
    ) -> Generator[str, None, bool]:
        """The base tier asks the remote server first when one is configured."""
        remote = self._remote
        if tier != "base":
            return (yield from self._speak(self.model(tier), tier, text, stats, t0, last))
        if remote is None or time.monotonic() < self._remote_down_until:
            return (yield from self._speak_local_base(text, stats, t0, last, context))
        try:
            return (yield from self._speak(remote, tier, text, stats, t0, last))
        except RemoteUnavailable as exc:
            self._remote_down_until = time.monotonic() + self.config.remote.retry_after_s
            _LOGGER.error("remote base unavailable (%s); answering locally", exc)
            if stats.sentences:
                return False  # part of the answer was spoken; end it there
            stats.first_token_ms = None
            return (yield from self._speak_local_base(text, stats, t0, last, context))

    def _speak_local_base(
        self, text: str, stats: Generation, t0: float, last: bool, context: str | None
    ) -> Generator[str, None, bool]:
        """The local base, speculating when the switch says it pays for this context."""
        model = self.model("base")
        proposer = self.proposer
        speculate = proposer is not None and self.switch.should_speculate(context)
        before = (proposer.proposed, proposer.accepted) if proposer is not None else (0, 0)
        self._speculating = speculate
        try:
            return (yield from self._speak(model, "base", text, stats, t0, last))
        finally:
            self._speculating = False
            call = stats.calls[-1] if stats.calls else None
            # Decoding speed only: a cached or cold prompt must not decide the switch.
            speed = call.decode_tokens_per_s if call is not None and call.tier == "base" else None
            if speed is not None:
                self.switch.record(context, speculate, speed)
            if proposer is not None and speculate:
                proposed = proposer.proposed - before[0]
                stats.speculation = {
                    "proposed": proposed,
                    "accepted": proposer.accepted - before[1],
                    "acceptance": round((proposer.accepted - before[1]) / proposed, 3)
                    if proposed
                    else 0.0,
                }

    def _speak(
        self, model: TokenStream, tier: str, text: str, stats: Generation, t0: float, last: bool
    ) -> Generator[str, None, bool]:
        """Stream one model's sentences; returns True when the tier should hand over."""
        can_escalate = not last
        cascade = self.config.cascade
        creative = is_creative(text)
        max_sentences = cascade.creative_sentences if creative else cascade.max_sentences
        max_tokens = cascade.creative_max_tokens if creative else self.config.llm.max_tokens
        messages = self.messages(text)
        prompt_tokens = len(model.prompt_tokens(messages)[0])
        pending: list[float] = []
        spoken: list[float] = []
        t_call = time.perf_counter()
        measure = self._meter.start()
        outcome = "error"
        first_token_ms: list[float] = []
        first_sentence_ms: float | None = None
        promised = False

        def pieces() -> Iterator[str]:
            for piece, logprob in model.stream(messages, max_tokens):
                if not first_token_ms:
                    first_token_ms.append((time.perf_counter() - t_call) * 1000)
                if stats.first_token_ms is None:
                    stats.first_token_ms = (time.perf_counter() - t0) * 1000
                pending.append(logprob)
                yield piece

        sentences = split_sentences(pieces())
        try:
            for sentence in sentences:
                if first_sentence_ms is None:
                    first_sentence_ms = (time.perf_counter() - t_call) * 1000
                unsure = self.is_unsure(Uncertainty.of(pending))
                if unsure and not stats.sentences and can_escalate:
                    outcome = "escalated"
                    return True
                if is_empty_promise(sentence, text):  # not said; its tokens still count
                    promised = True
                    spoken.extend(pending)
                    pending.clear()
                    continue
                # An answer ends only where a sentence does: a first clause already
                # spoken ("To set a timer for 5 minutes,") is finished, not left hanging.
                said_whole = bool(stats.sentences) and not ends_mid_sentence(stats.sentences[-1])
                if sentence in stats.sentences or said_whole and unsure and not creative:
                    outcome = "spoken"
                    break  # keep what was said with confidence, once; end at this boundary
                spoken.extend(pending)
                pending.clear()
                stats.sentences.append(sentence)
                yield sentence
                if len(stats.sentences) >= max_sentences and not ends_mid_sentence(sentence):
                    break
            if promised and not stats.sentences:
                stats.sentences.append(CANNOT_DO)
                yield CANNOT_DO
            outcome = "spoken"
            return False
        finally:
            sentences.close()  # stops generation at once (early exit)
            latency_ms = (time.perf_counter() - t_call) * 1000
            if outcome == "spoken":
                stats.logprobs.extend(spoken)
                self._measured(tier, measure().cpu_s)
            stats.calls.append(
                ModelCall(
                    model.role,
                    model.name,
                    tier,
                    prompt_tokens,
                    len(spoken) + len(pending),
                    latency_ms,
                    outcome,
                    first_token_ms[0] if first_token_ms else None,
                    first_sentence_ms,
                )  # fmt: skip
            )

    def is_unsure(self, uncertainty: Uncertainty) -> bool:
        """Token statistics beyond the configured thresholds."""
        u = uncertainty
        return self.config.cascade.is_unsure(u.tokens, u.low_prob, u.mean_nll)

    def _measured(self, tier: str, cpu_s: float) -> None:
        # Exponential moving average of measured CPU-seconds: recent answers weigh most.
        self.costs_s[tier] = 0.8 * self.costs_s[tier] + 0.2 * cpu_s

    def close(self) -> None:
        """Free every loaded model."""
        for model in self._models.values():
            model.close()
        self._models.clear()
