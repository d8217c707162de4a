"""Configuration: one frozen dataclass per component, defaults in code, one TOML file.

The file is found at ``--config PATH``, else ``$SAGE_CONFIG``, else ``/etc/sage/sage.toml``,
else ``~/.config/sage/sage.toml``; with none of them SAGE runs on the defaults below.
Every section and key is optional; an unknown or ill-typed key is a ConfigError naming it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sage.errors import ConfigError


def _check(ok: bool, key: str, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{key} must be {expected}")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("SAGE_CACHE_DIR") or Path(base) / "sage")


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(os.environ.get("SAGE_STATE_DIR") or Path(base) / "sage")


@dataclass(frozen=True)
class PathsConfig:
    """Where SAGE keeps models and state."""

    cache_dir: Path = field(default_factory=_default_cache_dir)
    """Model cache (assembled GGUFs, sha256 stamps)."""
    state_dir: Path = field(default_factory=_default_state_dir)
    """Databases and snapshots."""


@dataclass(frozen=True)
class SegmenterConfig:
    """webrtcvad segmentation of a 16 kHz stream into utterances."""

    aggressiveness: int = 2
    """webrtcvad mode, 0 (lenient) to 3 (strict)."""
    frame_ms: int = 30
    """VAD frame length; webrtcvad accepts 10, 20 or 30."""
    preroll_ms: int = 300
    """Audio kept from before speech starts, so the first phoneme is not clipped."""
    hangover_ms: int = 700
    """Silence that closes an utterance."""
    early_asr_ms: int = 210
    """A pause this long inside speech starts recognition during the hang-over, so the
    transcript is ready about when the utterance closes; 0 turns it off."""
    start_ms: int = 90
    """Speech needed (within the pre-roll window) to open an utterance."""
    min_speech_ms: int = 200
    """Utterances with less voiced audio than this are dropped as clicks."""
    max_utterance_s: float = 15.0
    """Hard cap: an utterance is closed at this length even while speech goes on."""

    def __post_init__(self) -> None:
        _check(self.aggressiveness in (0, 1, 2, 3), "segmenter.aggressiveness", "0..3")
        _check(self.frame_ms in (10, 20, 30), "segmenter.frame_ms", "10, 20 or 30")
        _check(self.max_utterance_s > 0, "segmenter.max_utterance_s", "> 0")
        for key in ("preroll_ms", "hangover_ms", "start_ms", "min_speech_ms", "early_asr_ms"):
            _check(getattr(self, key) >= 0, f"segmenter.{key}", ">= 0")
        _check(self.early_asr_ms == 0 or self.early_asr_ms < self.hangover_ms,
               "segmenter.early_asr_ms", "0 or < segmenter.hangover_ms")  # fmt: skip


@dataclass(frozen=True)
class WakeConfig:
    """Optional wake word before each utterance (microphone mode only)."""

    enabled: bool = False
    """Require the wake word; off by default, and never applied to files."""
    model: str = "okay_nabu"
    """One of the pymicro-wakeword models: alexa, hey_jarvis, hey_mycroft, okay_nabu."""
    window_s: float = 8.0
    """After the wake word, how long SAGE listens for the request."""


@dataclass(frozen=True)
class AsrConfig:
    """Two-tier speech recognition."""

    grammar: bool = True
    """Try the closed-vocabulary pocketsphinx grammar first."""
    grammar_confirm: bool = True
    """Whisper confirms each command the grammar heard (it now and then forces a question
    onto a command); off, a grammar hit answers without whisper, about 0.4 s sooner when
    reading a file (live, whisper mostly runs during the hang-over anyway)."""
    whisper_beam_size: int = 3
    """Beam size for faster-whisper (1 = greedy search, fastest). On the latency
    benchmark's LLM questions 3 made 0.048 word errors per word said against 0.080 with 1,
    for recognition p50 499 against 431 ms, mostly inside the hang-over."""
    whisper_hotwords: bool = False
    """Prompt whisper with the vocabulary the rules know (their slot values). Off: in
    tools/bench_asr.py the prompt made more word errors on questions and commands in two
    voices (README, *How the speech tiers decide*); worth a try with rules that name
    things whisper does not know."""
    threads: int = 2
    """CPU threads for the whisper decoder."""

    def __post_init__(self) -> None:
        _check(self.whisper_beam_size >= 1, "asr.whisper_beam_size", ">= 1")
        _check(self.threads >= 1, "asr.threads", ">= 1")


@dataclass(frozen=True)
class PatternsConfig:
    """The rule-based first tier."""

    rules_file: Path | None = None
    """Extra rules (TOML) loaded after the shipped defaults and tried before them; same
    names override."""


SYSTEM_PROMPT = (
    "You are SAGE, a voice assistant running offline on this device. Your answer is spoken "
    "aloud, so reply in one to three short, plain sentences: no lists, no markdown, no code "
    "blocks, no URLs. If you do not know, say so briefly."
)


@dataclass(frozen=True)
class LlmConfig:
    """The language-model fallback (the cascade's base tier)."""

    role: str = "base"
    """Catalog role of the base model (see models/catalog.toml)."""
    n_ctx: int = 2048
    """Context window in tokens."""
    threads: int = field(default_factory=lambda: os.cpu_count() or 2)
    """CPU threads for llama.cpp."""
    max_tokens: int = 96
    """Upper bound on a spoken reply, in tokens."""
    temperature: float = 0.0
    """0 = greedy (reproducible answers)."""
    system_prompt: str = SYSTEM_PROMPT
    """Instructions that keep answers short and speakable."""
    gpu_layers: int = -1
    """Layers offloaded to a GPU when llama.cpp was built with one; ignored on CPU builds."""
    facts_file: Path | None = None
    """Household facts and the device list, appended to the system prompt: the standing
    prefix that is snapshotted once and restored at every wake and restart."""

    def standing_prompt(self) -> str:
        """The system prompt with the household facts (ConfigError if unreadable)."""
        if self.facts_file is None:
            return self.system_prompt
        try:
            facts = self.facts_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"llm.facts_file {self.facts_file}: {exc}") from None
        return f"{self.system_prompt}\n\nWhat you know about this household:\n{facts}"

    def __post_init__(self) -> None:
        _check(self.n_ctx >= 256, "llm.n_ctx", ">= 256")
        _check(self.threads >= 1, "llm.threads", ">= 1")
        _check(self.max_tokens >= 1, "llm.max_tokens", ">= 1")
        _check(self.temperature >= 0.0, "llm.temperature", ">= 0")


@dataclass(frozen=True)
class CascadeConfig:
    """Which language-model tier answers, and when an answer is too unsure to speak."""

    draft_role: str = "draft"
    """Catalog role of the small model that answers alone where trusted ("" = no draft tier)."""
    min_trust: float = 0.55
    """A tier answers alone only for context classes where its trust is at least this."""
    escalate_low_prob: float = 0.45
    """A sentence whose 10th-percentile token probability is below this is unsure
    (calibrated for the 0.5B draft by tools/calibrate.py; see the README)."""
    escalate_mean_nll: float = 0.4
    """... or whose mean negative log-likelihood per token (nats) is above this."""
    max_sentences: int = 3
    """Spoken length: the answer stops after this many sentences."""
    creative_sentences: int = 6
    """... and after this many for a story, poem, song or joke asked for, whose later
    sentences are not stopped for being unsure: made-up words are unsure by nature (a
    joke was cut before its punchline)."""
    creative_max_tokens: int = 192
    """Upper bound on such a reply, in tokens ([llm] max_tokens for the others)."""
    turn_budget_s: float = 20.0
    """Compute a turn may spend (seconds of the answering thread); a fixed WAKE budget."""
    adapters_dir: Path | None = None
    """Domain modifiers, <dir>/<code|math|home|general>.gguf (default <state_dir>/adapters)."""
    speculation: str = "auto"
    """The draft proposes tokens for the base: "adaptive" (measured per context and kept
    where faster), "on", "off", or "auto" (adaptive on GPU hosts, off on CPU-only hosts)."""
    draft_tokens: int = 4
    """Tokens the draft proposes per step when speculating."""
    draft_backend: str = "gguf"
    """What proposes when speculating: "gguf" (llama.cpp) or "onnx" (onnxruntime with
    TensorRT → CUDA → CPU, the file from tools/export_draft_onnx.py)."""
    onnx_draft: Path | None = None
    """The ONNX draft (default <cache_dir>/onnx/<draft_role>.onnx)."""

    def __post_init__(self) -> None:
        _check(0.0 <= self.min_trust <= 1.0, "cascade.min_trust", "0..1")
        _check(0.0 <= self.escalate_low_prob <= 1.0, "cascade.escalate_low_prob", "0..1")
        _check(self.escalate_mean_nll > 0, "cascade.escalate_mean_nll", "> 0")
        _check(self.max_sentences >= 1, "cascade.max_sentences", ">= 1")
        _check(self.creative_sentences >= 1, "cascade.creative_sentences", ">= 1")
        _check(self.creative_max_tokens >= 1, "cascade.creative_max_tokens", ">= 1")
        _check(self.turn_budget_s > 0, "cascade.turn_budget_s", "> 0")
        _check(
            self.speculation in ("auto", "adaptive", "on", "off"),
            "cascade.speculation",
            "auto, adaptive, on or off",
        )
        _check(self.draft_tokens >= 1, "cascade.draft_tokens", ">= 1")
        _check(self.draft_backend in ("gguf", "onnx"), "cascade.draft_backend", "gguf or onnx")

    def is_unsure(self, tokens: int, low_prob: float, mean_nll: float) -> bool:
        """An answer's token statistics beyond the escalation thresholds."""
        return tokens > 0 and (
            low_prob < self.escalate_low_prob or mean_nll > self.escalate_mean_nll
        )


@dataclass(frozen=True)
class RemoteConfig:
    """The base tier on another machine (an OpenAI-compatible server), local as fallback."""

    url: str = ""
    """e.g. http://gpu-host:8080 ("" = answer with the local base model)."""
    model: str = ""
    """Model name the server expects ("" for llama.cpp's server with one model)."""
    timeout_s: float = 10.0
    """Connect and first-token timeout; past it the local base model answers."""
    retry_after_s: float = 60.0
    """After a failure the server is left alone this long."""

    def __post_init__(self) -> None:
        _check(self.timeout_s > 0, "remote.timeout_s", "> 0")
        _check(self.retry_after_s >= 0, "remote.retry_after_s", ">= 0")
        _check(
            self.url == "" or self.url.startswith(("http://", "https://")),
            "remote.url",
            "an http:// or https:// URL",
        )


@dataclass(frozen=True)
class TtsConfig:
    """Piper text to speech."""

    voice_role: str = "voice"
    """Catalog role of the Piper voice."""
    length_scale: float = 1.0
    """Speaking rate: > 1 slower, < 1 faster."""
    noise_scale: float | None = None
    """Generator noise (None: the voice's own setting; 0 makes synthesis deterministic)."""
    noise_w_scale: float | None = None
    """Phoneme-duration noise (None: the voice's own setting)."""

    def __post_init__(self) -> None:
        _check(self.length_scale > 0, "tts.length_scale", "> 0")


@dataclass(frozen=True)
class MetabolismConfig:
    """States, scheduled jobs and KV-cache snapshots."""

    states_dir: Path | None = None
    """Per-state settings, <dir>/<state>.toml (default: the states/ shipped with SAGE)."""
    dream_at: str = "03:00"
    """Local time of the nightly DREAM run, HH:MM."""
    dream_misfire_grace_s: int = 3600
    """A DREAM missed while SAGE was down still runs if SAGE is back within this long."""
    dream_retry_s: int = 600
    """When DREAM is due but SAGE is busy (or DREAM yielded), try again after this long."""
    heartbeat_s: int = 30
    """Budget refill, state timers and status.json, every this many seconds."""
    trust_decay_every_s: int = 3600
    """How often trust scores are written back decayed toward their priors."""
    housekeeping_every_s: int = 3600
    """How often stray snapshot files are removed and the size cap applied."""
    snapshots: bool = True
    """Snapshot the standing prefix and the conversation; restore them on load."""
    snapshot_cap_mb: int = 512
    """Snapshots beyond this total are evicted, least recently used first."""

    def __post_init__(self) -> None:
        hour, _, minute = self.dream_at.partition(":")
        _check(
            hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60,
            "metabolism.dream_at", "HH:MM",
        )  # fmt: skip
        for key in ("dream_misfire_grace_s", "dream_retry_s", "heartbeat_s",
                    "trust_decay_every_s", "housekeeping_every_s", "snapshot_cap_mb"):  # fmt: skip
            _check(getattr(self, key) >= 1, f"metabolism.{key}", ">= 1")


@dataclass(frozen=True)
class DreamConfig:
    """The nightly distillation (see sage/dream/)."""

    student_role: str = "draft"
    """Catalog role of the model DREAM teaches (its adapter: <adapters_dir>/draft.gguf)."""
    teacher_role: str = "base"
    """Catalog role of the model whose careful answers are the lessons."""
    steps: int = 40
    """A domain modifier's training steps per night (one example each): it learns the
    careful answers themselves, and more steps memorise them and forget more of the rest
    (README, *DREAM on a synthetic day*)."""
    learning_rate: float = 1e-3
    """A modifier's learning rate."""
    distil_steps: int = 240
    """The draft's steps per night: it distils the teacher's next-token distributions,
    which keep teaching on new questions where more steps on the answers alone forget."""
    distil_learning_rate: float = 3e-4
    """The draft's learning rate."""
    rank: int = 8
    """LoRA rank."""
    margin: float = 0.05
    """A student is promoted only if its figure improves by this much (on the repeats
    where a night has them, new questions losing no more; sage/dream/gate.py): the
    draft's acceptance (or agreement) by this many points, a modifier's mean NLL by this
    fraction; and a draft whose speculation speedup falls by this fraction is rejected."""
    regression_questions: int = 16
    """How many questions of the evaluation set make the fixed regression suite."""
    max_lessons: int = 64
    """The most salient experiences a night relabels (a fifth of them held out)."""
    threads: int = 2
    """CPU threads for training and scoring."""
    modifiers: int = 1
    """Domain modifiers trained per night at most (the domains with the most unsure base
    turns first; each trains the base model, minutes on a small CPU); 0 = none."""

    def __post_init__(self) -> None:
        _check(self.steps >= 1, "dream.steps", ">= 1")
        _check(self.distil_steps >= 1, "dream.distil_steps", ">= 1")
        _check(self.distil_learning_rate > 0, "dream.distil_learning_rate", "> 0")
        _check(self.modifiers >= 0, "dream.modifiers", ">= 0")
        _check(self.rank >= 1, "dream.rank", ">= 1")
        _check(self.learning_rate > 0, "dream.learning_rate", "> 0")
        _check(0.0 <= self.margin <= 1.0, "dream.margin", "0..1")
        _check(self.regression_questions >= 1, "dream.regression_questions", ">= 1")
        _check(self.max_lessons >= 2, "dream.max_lessons", ">= 2")


VERBS = ("status", "start", "stop", "restart")
"""What voice control can do to a unit."""
UNIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._-]*\.(service|socket|timer|target|path|mount)")
"""Unit names voice control accepts: nothing a shell, sudoers or polkit would read twice."""


@dataclass(frozen=True)
class UnitConfig:
    """One systemd unit that voice control may touch."""

    name: str
    """The unit, e.g. "nginx.service"."""
    aliases: tuple[str, ...] = ()
    """Spoken names ("the web server"); the unit name with and without .service always work."""
    verbs: tuple[str, ...] = ("status",)
    """Allowed verbs: status, start, stop, restart."""
    critical: bool = False
    """Stop and restart need a spoken "yes" first."""

    def __post_init__(self) -> None:
        _check(UNIT_NAME.fullmatch(self.name) is not None, f"services.units.name {self.name!r}",
               "a unit name such as nginx.service (letters, digits, @ . _ -)")  # fmt: skip
        object.__setattr__(self, "aliases", tuple(self.aliases))
        object.__setattr__(self, "verbs", tuple(self.verbs))
        for verb in self.verbs:
            _check(verb in VERBS, f"services.units ({self.name}).verbs", f"among {VERBS}")

    @property
    def short_name(self) -> str:
        """The name as SAGE says it: "nginx" for nginx.service."""
        return self.name.removesuffix(".service")


DEFAULT_UNITS = (
    UnitConfig("nginx.service", ("the web server", "web server", "engine x"),
               ("status", "start", "restart", "stop"), critical=True),
    UnitConfig("ssh.service", ("ssh", "the ssh server", "remote login"), ("status",)),
)  # fmt: skip


@dataclass(frozen=True)
class ServicesConfig:
    """Voice control of systemd units: an allowlist, confirmations, the executor."""

    enabled: bool = True
    units: tuple[UnitConfig, ...] = DEFAULT_UNITS
    """The allowlist ([[services.units]] tables); nothing else is ever touched."""
    confirm_timeout_s: float = 10.0
    """A "yes" later than this after the read-back does nothing."""
    use_sudo: bool = False
    """Run systemctl through ``sudo -n`` (hosts with polkit 0.105, see the README)."""
    action_timeout_s: float = 30.0
    """How long a systemctl call may take before it counts as failed."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", tuple(self.units))
        _check(self.confirm_timeout_s > 0, "services.confirm_timeout_s", "> 0")
        _check(self.action_timeout_s > 0, "services.action_timeout_s", "> 0")


@dataclass(frozen=True)
class RoleConfig:
    """A model role in the registry ``[roles.<name>]``: what the tiers (``[llm] role``,
    ``[cascade] draft_role``) and DREAM (``[dream]`` roles) load under that name."""

    model: str = ""
    """A catalog entry (models/catalog.toml) or a path to a GGUF file; "" = the catalog
    entry of the role's own name."""
    n_ctx: int = 0
    """Context window in tokens (0 = ``[llm] n_ctx``)."""
    threads: int = 0
    """CPU threads (0 = ``[llm] threads``)."""
    adapter: Path | None = None
    """A LoRA adapter (GGUF) switched on at load; on the draft tier an adapter that
    DREAM promoted takes its place."""
    fallback: str = ""
    """The role loaded in this one's place when its model is missing or will not load."""

    def __post_init__(self) -> None:
        # The registry names the role in these messages ("roles.draft.n_ctx ...").
        _check(self.n_ctx == 0 or self.n_ctx >= 256, "roles.*.n_ctx", "0 or >= 256")
        _check(self.threads >= 0, "roles.*.threads", ">= 0")


@dataclass(frozen=True)
class Config:
    """Everything SAGE reads from its TOML file."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    segmenter: SegmenterConfig = field(default_factory=SegmenterConfig)
    wake: WakeConfig = field(default_factory=WakeConfig)
    asr: AsrConfig = field(default_factory=AsrConfig)
    patterns: PatternsConfig = field(default_factory=PatternsConfig)
    llm: LlmConfig = field(default_factory=LlmConfig)
    cascade: CascadeConfig = field(default_factory=CascadeConfig)
    remote: RemoteConfig = field(default_factory=RemoteConfig)
    tts: TtsConfig = field(default_factory=TtsConfig)
    metabolism: MetabolismConfig = field(default_factory=MetabolismConfig)
    services: ServicesConfig = field(default_factory=ServicesConfig)
    dream: DreamConfig = field(default_factory=DreamConfig)
    roles: dict[str, RoleConfig] = field(default_factory=dict)

    def role(self, name: str) -> RoleConfig:
        """The registry entry for a role, every default filled in."""
        entry = self.roles.get(name, RoleConfig())
        return dataclasses.replace(
            entry,
            model=entry.model or name,
            n_ctx=entry.n_ctx or self.llm.n_ctx,
            threads=entry.threads or self.llm.threads,
        )


def default_config_path() -> Path | None:
    """The first config file that exists in the documented search order, or None."""
    candidates = [
        os.environ.get("SAGE_CONFIG"),
        "/etc/sage/sage.toml",
        str(Path.home() / ".config" / "sage" / "sage.toml"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def load_config(path: Path | None = None) -> Config:
    """Read and validate a config file (or the default search order)."""
    path = path or default_config_path()
    if path is None:
        return Config()
    try:
        with Path(path).open("rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return build_section(Config, raw, "")


def build_section(cls: type, table: dict[str, Any], prefix: str) -> Any:
    """A config dataclass from a TOML table; ConfigError names an unknown or ill-typed key."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in table:
        if key not in names:
            raise ConfigError(f"unknown key {prefix}{key}")
    values = {key: _coerce(hints[key], value, f"{prefix}{key}") for key, value in table.items()}
    return cls(**values)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"[{key}] must be a table")
        return build_section(hint, value, f"{key}.")
    if typing.get_origin(hint) is dict:  # dict[str, RoleConfig]
        if not isinstance(value, dict):
            raise ConfigError(f"[{key}] must be a table")
        item, table = typing.get_args(hint)[1], {}
        for name, v in value.items():
            try:
                table[name] = _coerce(item, v, f"{key}.{name}")
            except ConfigError as exc:
                raise ConfigError(exc.message.replace(f"{key}.*.", f"{key}.{name}.")) from None
        return table
    if typing.get_origin(hint) is tuple:  # tuple[str, ...] or tuple[UnitConfig, ...]
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list")
        item = typing.get_args(hint)[0]
        return tuple(_coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value))
    if isinstance(hint, types.UnionType):  # Path | None
        inner = [a for a in typing.get_args(hint) if a is not type(None)][0]
        return _coerce(inner, value, key)
    if hint is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a path string")
        return Path(value).expanduser()
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (bool, int, float, str) and (
        not isinstance(value, hint) or (hint is int and isinstance(value, bool))
    ):
        raise ConfigError(f"{key} must be {hint.__name__}, got {type(value).__name__}")
    return value
