"""The ``sage`` command: listen, ask, run, models.

Exit codes: 0 ok; 2 bad input or config (one line on stderr says why); 3 a model is
missing or corrupt (the line names the command that fixes it); 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from sage import host
from sage.audio.io import Microphone, NullSink, RawSource, Sink, SpeakerSink, WavSink, wav_source
from sage.audio.segmenter import Segmenter
from sage.audio.wakeword import WakeWordGate
from sage.cascade.adapters import DOMAINS
from sage.catalog import ModelCache
from sage.config import Config, load_config
from sage.daemon import Daemon
from sage.dream.distill import Distill, readable, rollback
from sage.dream.dreamer import Dreamer, Progress
from sage.errors import ModelError, SageError
from sage.lists import Lists
from sage.metabolism.metabolism import STATUS_FILE, Metabolism
from sage.metabolism.snapshots import SnapshotStore
from sage.metabolism.states import STATES_DIR, load_settings
from sage.notes import Notes
from sage.patterns.rules import DEFAULT_RULES, Rule, load_rules
from sage.pipeline import Pipeline, Turn
from sage.services.control import ServiceControl, SystemctlExecutor
from sage.services.install import install, uninstall
from sage.services.notify import Notifier
from sage.speech.voice import VoiceSettings
from sage.timers import Timers
from sage.trust.store import Store

_LOGGER = logging.getLogger("sage")
_NOISY_LOGGERS = ("faster_whisper", "piper", "httpx", "huggingface_hub", "apscheduler")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML config (default: see README)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    common.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    parser = argparse.ArgumentParser(prog="sage", description="SAGE offline voice daemon")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    listen = add("listen", "answer the first utterance in a WAV file")
    listen.add_argument("wav", type=Path)
    listen.add_argument("--out", type=Path, help="write the spoken reply to this WAV")
    listen.add_argument("--json", action="store_true", help="print one JSON object")

    ask = add("ask", "answer typed text")
    ask.add_argument("text")
    ask.add_argument("--out", type=Path, help="write the spoken reply to this WAV")
    ask.add_argument("--json", action="store_true", help="print one JSON object")

    run = add("run", "the daemon loop: many utterances until stopped")
    run.add_argument("--input", default="mic", help="mic, a WAV file, or - for raw PCM on stdin")
    run.add_argument("--output", default="speaker", help="speaker, a WAV file, or none")
    run.add_argument("--json", action="store_true", help="print one JSON line per turn")

    status = add("status", "the daemon's state, budget, loaded models and last transitions")
    status.add_argument("--json", action="store_true", help="print one JSON object")

    service = add("service", "install or uninstall SAGE as a systemd service")
    service.add_argument("action", choices=("install", "uninstall"))
    service.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        help="write under this directory instead of / (to look first)",
    )
    service.add_argument("--device", choices=("auto", "cpu", "rtx", "jetson"), default="auto")
    service.add_argument("--no-start", action="store_true", help="install without starting")
    service.add_argument(
        "--purge",
        action="store_true",
        help="uninstall: also remove config, state, cache and the user",
    )

    dream = add("dream", "run DREAM now, show its reports, or roll back its last promotion")
    dream.add_argument("--now", action="store_true", help="run (or resume) DREAM now")
    dream.add_argument("--budget", type=float, metavar="MINUTES", help="stop after this long")
    dream.add_argument("--report", action="store_true", help="print the last runs' reports")
    dream.add_argument(
        "--rollback",
        nargs="?",
        const="draft",
        choices=("draft", *DOMAINS),
        metavar="STUDENT",
        help="put back the adapter the draft (default) or a domain's modifier "
        f"({', '.join(DOMAINS)}) used before its last promotion",
    )

    models = add("models", "list (default), install or verify the models")
    models.add_argument("action", nargs="?", choices=("list", "install", "verify"), default="list")
    return parser


def _rules(config: Config) -> list[Rule]:
    paths = [DEFAULT_RULES]
    if config.patterns.rules_file is not None:
        paths.append(config.patterns.rules_file)
    return load_rules(paths)


def _pipeline(config: Config, sink: Sink, daemon: bool = False) -> Pipeline:
    """The pipeline with its store and snapshots; the daemon's also has a metabolism."""
    state_dir = config.paths.state_dir
    store = Store(state_dir / "sage.db")
    meta = config.metabolism
    snapshots = None
    if meta.snapshots:
        snapshots = SnapshotStore(state_dir / "snapshots", meta.snapshot_cap_mb << 20)
    metabolism = None
    if daemon:
        settings = load_settings(meta.states_dir or STATES_DIR)
        metabolism = Metabolism(settings, store, state_dir / STATUS_FILE, time.time())
    services = None
    if config.services.enabled:
        executor = SystemctlExecutor(config.services.use_sudo, config.services.action_timeout_s)
        services = ServiceControl(config.services, executor, store.audit_service)
    timers = Timers(state_dir / "timers.json", live=daemon)
    return Pipeline(config, ModelCache(config.paths.cache_dir), _rules(config), sink,
                    store=store, metabolism=metabolism, snapshots=snapshots,
                    services=services, timers=timers,
                    voice=VoiceSettings(state_dir / "voice.json"),
                    lists=Lists(state_dir / "lists.json"),
                    notes=Notes(state_dir / "notes.json"))  # fmt: skip


def _sink(out: str | Path | None) -> Sink:
    if out is None or str(out) == "none":
        return NullSink()
    if str(out) == "speaker":
        return SpeakerSink()
    return WavSink(Path(out))


def _print_turn(turn: Turn, as_json: bool) -> None:
    if as_json:
        print(json.dumps(turn.to_json()), flush=True)
    elif turn.route != "none":
        print(turn.reply, flush=True)


def cmd_listen(config: Config, args: argparse.Namespace) -> int:
    """One shot: the first utterance in a WAV file."""
    blocks = list(wav_source(args.wav))  # reads and converts, or raises AudioFormatError
    pipeline = _pipeline(config, _sink(args.out))
    segmenter = Segmenter(config.segmenter)
    utterances = [u for b in blocks for u in segmenter.push(b)] + list(segmenter.flush())
    if len(utterances) > 1:
        _LOGGER.info(
            "%d utterances in %s; answering the first (use `sage run` for all)",
            len(utterances),
            args.wav,
        )
    if utterances:
        _ = pipeline.recognizer, pipeline.speaker  # load before the timed turn
        turn = pipeline.hear(utterances[0], segmenter.vad_seconds * 1000)
    else:
        turn = Turn("", "none", "", "none", {"vad": segmenter.vad_seconds * 1000})
    pipeline.sink.close()
    pipeline.close()
    _print_turn(turn, args.json)
    return 0


def cmd_ask(config: Config, args: argparse.Namespace) -> int:
    """One shot from typed text."""
    pipeline = _pipeline(config, _sink(args.out))
    _ = pipeline.speaker  # load before the timed turn
    turn = pipeline.ask(args.text)
    pipeline.sink.close()
    pipeline.close()
    _print_turn(turn, args.json)
    return 0


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    """The daemon loop."""
    live: Microphone | RawSource | None = None
    """A live input, stopped by a signal (a file simply ends)."""
    mic: Microphone | None = None
    blocks: Iterator[bytes]
    if args.input == "mic":
        live = mic = Microphone()
        blocks = mic.blocks()
    elif args.input == "-":
        live = RawSource()
        blocks = live.blocks()
    else:
        blocks = wav_source(Path(args.input))
    sink = _sink(args.output)
    notifier = Notifier()
    pipeline = _pipeline(config, sink, daemon=True)

    def loading(stage: str) -> None:  # systemd's start timeout grows while models load
        notifier.send(f"EXTEND_TIMEOUT_USEC={LOAD_STAGE_USEC}", f"STATUS=loading {stage}")

    pipeline.preload(loading)
    wake = WakeWordGate(config.wake) if mic is not None and config.wake.enabled else None
    daemon = Daemon(
        pipeline,
        wake=wake,
        after_turn=mic.drain if mic is not None else None,
        on_turn=lambda turn: _print_turn(turn, args.json),
        jobs_db=config.paths.state_dir / "jobs.db",
        notifier=notifier,
        watchdog_s=_watchdog_interval_s(),
    )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        _LOGGER.info("signal %d: stopping after the current turn", signum)
        notifier.send("STOPPING=1", "STATUS=stopping: finishing the turn under way")
        daemon.stop()
        if live is not None:
            live.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if mic is not None:  # capture from here on, so that "listening" and READY are true
        mic.start()
    _LOGGER.info("listening on %s, replying to %s", args.input, args.output)
    notifier.send("READY=1", f"STATUS={daemon.status_line()}")
    try:
        turns = daemon.run(blocks)
    finally:
        sink.close()
        pipeline.close()
    _LOGGER.info("stopped after %d turns", len(turns))
    return 0


LOAD_STAGE_USEC = 120_000_000
"""Start-timeout extension per model-loading stage (a Jetson's first load is slow)."""


def _watchdog_interval_s() -> float:
    """Half of systemd's WatchdogSec, when it is meant for this process (else 0: off)."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", str(os.getpid()))
    if not usec.isdigit() or pid != str(os.getpid()):
        return 0.0
    return int(usec) / 2e6


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    """The daemon's state, budget, models and last transitions (from status.json)."""
    path = config.paths.state_dir / STATUS_FILE
    try:
        status = json.loads(path.read_text())
    except FileNotFoundError:
        status = {"state": None, "running": False}
    except ValueError as exc:
        raise SageError("status", f"{path} is unreadable ({exc}); the daemon rewrites it") from None
    else:
        status["running"] = _alive(status.get("pid"))
    status["host"] = host.engines()
    if args.json:
        print(json.dumps(status))
        return 0
    if status["state"] is None:
        print("sage is not running and has never run here (no status file)")
        print(f"host     {host.summary(status['host'])}")  # where it would run
        return 0
    now = time.time()
    if status["running"]:
        print(f"running: state {status['state']} for {_ago(now - status['since'])}")
        if not status.get("listening", True):
            print('         not listening: say "start listening"')
    else:  # the file's figures are as of its last write; its job times have passed
        print(f"not running (last heard from {_ago(now - path.stat().st_mtime)} ago); "
              f"last known: state {status['state']}")  # fmt: skip
        status["jobs"] = {}
    print(f"budget   {status['budget_left_s']:.1f} of {status['budget_capacity_s']:.0f} "
          "CPU-seconds")  # fmt: skip
    print(f"models   {', '.join(status['models']) or 'none loaded'}")
    for tier, domains in sorted(status.get("passed_over", {}).items()):
        print(f"routing  {tier} passed over for {', '.join(domains)} requests "
              "(it kept handing them over)")  # fmt: skip
    print(f"host     {host.summary(status['host'])}")
    for name, when in sorted(status.get("jobs", {}).items()):
        print(f"job      {name:12} next {when or '-'}")
    for row in status["transitions"]:
        print(f"{_ago(now - row['at'])} ago  {row['from_state']} → {row['to_state']} "
              f"({row['event']})")  # fmt: skip
    return 0


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def cmd_service(config: Config, args: argparse.Namespace) -> int:
    """Install or remove the systemd unit, user, directories, config and policy."""
    if args.action == "install":
        paths = install(args.root, args.device, config.paths.cache_dir, start=not args.no_start)
    else:
        paths = uninstall(args.root, args.purge)
    for path in paths:
        print(f"{'wrote' if args.action == 'install' else 'removed'} {path}")
    return 0


def cmd_dream(config: Config, args: argparse.Namespace) -> int:
    """DREAM in the foreground (preemptible by Ctrl-C, resumable), its reports, rollback."""
    if args.rollback:
        print(rollback(config, args.rollback))
        return 0
    store = Store(config.paths.state_dir / "sage.db")
    try:
        if args.now:
            deadline = time.monotonic() + args.budget * 60 if args.budget else float("inf")
            work = Distill(config, ModelCache(config.paths.cache_dir), store,
                           lambda: time.monotonic() > deadline)  # fmt: skip
            try:
                dreamer = Dreamer(store, work, config.dream.max_lessons)
                result = dreamer.run(lambda: time.monotonic() > deadline, time.time(),
                                     progress=_progress_bar())  # fmt: skip
            finally:
                work.close()
            print(f"DREAM {result}")
        if args.report or args.now:
            runs = store.dream_runs(limit=1 if args.now else 5)
            for run in runs:
                print(json.dumps(readable(run), indent=2))
            if not runs:
                print(f"no DREAM run yet: it runs nightly at {config.metabolism.dream_at} in "
                      "the daemon, and `sage dream --now` runs one here")  # fmt: skip
        else:
            print(f"DREAM runs nightly at {config.metabolism.dream_at} in the daemon; "
                  "`sage dream --now` runs it here, `--report` shows the last runs.")  # fmt: skip
    finally:
        store.close()
    return 0


def _progress_bar() -> Progress | None:
    """A progress bar on a terminal (log lines say the same elsewhere)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=1, unit="unit", file=sys.stderr, leave=True)

    def show(done: int, total: int, label: str) -> None:
        bar.total, bar.n = total, done
        bar.set_description(f"DREAM {label}")
        if done == total:
            bar.close()

    return show


def cmd_models(config: Config, args: argparse.Namespace) -> int:
    """List, install or verify the models in the catalog."""
    cache = ModelCache(config.paths.cache_dir)
    if args.action == "install":
        cache.install()
    if args.action == "verify":
        bad = [s.role for s in cache.statuses() if s.state != "ok"]
        for status in cache.statuses():
            print(f"{status.role:9} {status.state}")
        if bad:
            raise ModelError(f"{', '.join(bad)} not usable; run `sage models install`")
        return 0
    print(f"{'role':9} {'state':8} {'size':>9}  path")
    for status in cache.statuses():
        size = f"{status.size_bytes / 1e6:.1f} MB" if status.size_bytes else "-"
        print(f"{status.role:9} {status.state:8} {size:>9}  {status.path or '-'}")
        print(f"{'':9} {status.description}")
    return 0


COMMANDS = {
    "listen": cmd_listen, "ask": cmd_ask, "run": cmd_run, "status": cmd_status,
    "service": cmd_service, "dream": cmd_dream, "models": cmd_models,
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sage`` console script."""
    args = _parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    try:
        config = load_config(args.config)
        return COMMANDS[args.command](config, args)
    except ModelError as exc:
        print(f"sage: {exc}", file=sys.stderr)
        return 3
    except SageError as exc:
        print(f"sage: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
