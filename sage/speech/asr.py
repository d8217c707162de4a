"""Speech to text in two tiers.

Tier 1, pocketsphinx with the JSGF grammar compiled from the pattern rules: tens of
milliseconds, but only for commands the rules know. Its transcript is accepted only when
the pattern matcher accepts it (and, by default, whisper confirms it: see
:class:`SpeechRecognizer`); speech outside the grammar decodes as filler words, which no
rule matches, and falls through.

Tier 2, faster-whisper tiny.en int8: open dictation, on CUDA when the host has it; with
``asr.whisper_hotwords`` it is prompted with the vocabulary the rules know (hotwords).

Recognition runs on one thread of its own, one utterance at a time, so the daemon can
start it at a pause (:meth:`SpeechRecognizer.begin`) while the segmenter still listens.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import webrtcvad

from sage.audio import SAMPLE_RATE
from sage.config import AsrConfig
from sage.host import whisper_device
from sage.metabolism.ledger import cpu_seconds
from sage.patterns.matcher import normalise
from sage.patterns.rules import Rule
from sage.speech.grammar import compile_jsgf

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transcript:
    """What was said, and which tier decided."""

    text: str
    """The accepted transcript ("" when nothing intelligible was said)."""
    tier: str
    """"grammar", "whisper" or "none"."""
    grammar_text: str | None
    """Tier 1's hypothesis (None when tier 1 did not run)."""
    whisper_text: str | None
    """Tier 2's transcript (None when tier 2 did not run)."""
    grammar_ms: float
    whisper_ms: float
    cpu_s: float = 0.0
    """Process CPU-seconds while recognising (the ledger's cost of this stage)."""

    @property
    def asr_ms(self) -> float:
        """Total recognition time."""
        return self.grammar_ms + self.whisper_ms


class GrammarRecognizer:
    """pocketsphinx over the rule grammar (tier 1)."""

    def __init__(self, model_dir: Path, rules: list[Rule]) -> None:
        from pocketsphinx import Decoder

        # Tight beams keep the filler loop cheap (tens of ms) without losing commands.
        self._decoder = Decoder(
            hmm=str(model_dir / "en-us"),
            dict=str(model_dir / "cmudict-en-us.dict"),
            lm=None,
            logfn=os.devnull,
            beam=1e-20,
            wbeam=1e-15,
            pbeam=1e-20,
            bestpath=False,  # the lattice pass cost up to 0.8 s on speech outside the grammar
        )
        vad = webrtcvad.Vad(3)
        self._vad: Callable[[bytes], bool] = lambda frame: vad.is_speech(frame, SAMPLE_RATE)
        jsgf = compile_jsgf(rules, lambda w: self._decoder.lookup_word(w) is not None)
        self._decoder.add_jsgf_string("sage", jsgf)
        self._decoder.activate_search("sage")

    def recognize(self, pcm: bytes) -> str:
        """Best grammar path for one utterance; "" when none, or when it leaves speech out."""
        pcm = with_trailing_silence(pcm, self._vad, TRAILING_SILENCE_MS)
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, full_utt=True)
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        if hyp is None or not hyp.hypstr:
            return ""
        cost = -math.log(max(hyp.score, 1e-300)) * 1000 / max(1, self._decoder.n_frames())
        if cost > MAX_PATH_COST:
            _LOGGER.debug("grammar %r rejected: path cost %.2f per frame", hyp.hypstr, cost)
            return ""
        unexplained = unexplained_speech_ms(pcm, _silences(self._decoder.seg()), self._vad)
        if unexplained > UNEXPLAINED_SPEECH_MS:
            _LOGGER.debug("grammar %r leaves %d ms of speech unexplained", hyp.hypstr, unexplained)
            return ""
        return hyp.hypstr


MAX_PATH_COST = 2.6
"""Score check on a grammar path: -ln(score) per 10 ms frame, x1000. With the 500 ms tail
and the first pass only, the benchmark's commands cost 1.0-1.9 (Piper) and 1.5-2.6
(espeak-ng), questions forced onto a command 1.4-3.5: the cost drops the worst paths,
UNEXPLAINED_SPEECH_MS separates the rest."""
TRAILING_SILENCE_MS = 500
"""The path cost is per frame, so the silence after the speech dilutes it: recognised at a
pause (200 ms of silence) a forced path costs more than after a 700 ms hang-over. Each
utterance is cut or padded to end in this much silence, as MAX_PATH_COST was set on."""
UNEXPLAINED_SPEECH_MS = 500
"""Voiced audio that the grammar path labels as silence; more than this rejects the path.
When speech is not in the grammar, pocketsphinx falls back to the best partial path
("what time is it" for "what time does the shop open") and files the rest under <sil>.
Measured on the benchmark's phrases (first pass only, no lattice): commands leave 60-390
ms unexplained, questions forced onto a command 800-1740 ms."""
_PS_FRAME_S = 0.01
"""pocketsphinx frame length (10 ms)."""
_PS_FRAME_BYTES = int(SAMPLE_RATE * _PS_FRAME_S) * 2


def _silences(segments: Iterable[Any]) -> list[tuple[int, int]]:
    """(start, end) pocketsphinx frames of the non-word segments of a path."""
    return [(s.start_frame, s.end_frame) for s in segments if not s.word[0].isalpha()]


def with_trailing_silence(pcm: bytes, vad: Callable[[bytes], bool], ms: int) -> bytes:
    """``pcm`` ending in exactly ``ms`` of unvoiced 10 ms frames: longer silence is cut,
    shorter is made up with digital silence."""
    frame = _PS_FRAME_BYTES
    speech_end = len(pcm) - len(pcm) % frame
    while speech_end >= frame and not vad(pcm[speech_end - frame : speech_end]):
        speech_end -= frame
    quiet = (len(pcm) - speech_end) // frame
    want = round(ms / 1000 / _PS_FRAME_S)
    if quiet >= want:
        return pcm[: speech_end + want * frame]
    return pcm + bytes((want - quiet) * frame)


def unexplained_speech_ms(
    pcm: bytes, silences: list[tuple[int, int]], vad: Callable[[bytes], bool]
) -> int:
    """Milliseconds of voiced 10 ms frames that fall inside the given silence spans."""
    size = _PS_FRAME_BYTES
    total = 0
    for start, end in silences:
        for frame in range(start, end + 1):
            chunk = pcm[frame * size : (frame + 1) * size]
            if len(chunk) == size and vad(chunk):
                total += 10
    return total


NO_SPEECH_MAX = 0.6
COMPRESSION_MAX = 2.4
MAX_TOKENS_BASE = 16
MAX_TOKENS_PER_S = 8
"""Whisper's output budget for an utterance: this many tokens, and so many per second
(speech is about three a second)."""


class WhisperRecognizer:
    """faster-whisper open dictation (tier 2)."""

    def __init__(self, model_dir: Path, config: AsrConfig, hotwords: str = "") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from faster_whisper import WhisperModel

        device, compute_type = whisper_device()
        _LOGGER.info("whisper on %s (%s)", device, compute_type)
        self._model = WhisperModel(
            str(model_dir),
            device=device,
            compute_type=compute_type,
            cpu_threads=config.threads,
            local_files_only=True,
        )
        self._config = config
        self._hotwords = hotwords

    def recognize(self, pcm: bytes) -> str:
        """Transcript of one utterance; segments that look like no speech are dropped.

        The hotword prompt makes whisper "hear" its words in silence or noise; such
        segments carry a high no-speech probability or repeat themselves (compression).
        Decoding never samples: faster-whisper's default falls back to sampling at five
        higher temperatures, five candidates each, and on a muffled 8 kHz request that
        took 13 s to return hotwords ("morning, evening, morning, ..."). When the biased
        pass only loops, one pass without the hotwords decides.
        """
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        text, looped = self._decode(audio, self._hotwords or None)
        if looped and not text and self._hotwords:
            text, _ = self._decode(audio, None)
        return text

    def _decode(self, audio: np.ndarray, hotwords: str | None) -> tuple[str, bool]:
        """The kept segments' text, and whether a segment was dropped as a loop."""
        segments, _ = self._model.transcribe(
            audio,
            language="en",
            beam_size=self._config.whisper_beam_size,
            hotwords=hotwords,
            temperature=0.0,
            # A loop ends here rather than at whisper's 448 tokens.
            max_new_tokens=MAX_TOKENS_BASE + int(MAX_TOKENS_PER_S * len(audio) / SAMPLE_RATE),
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        texts, looped = [], False
        for segment in segments:
            loop = segment.compression_ratio > COMPRESSION_MAX
            looped |= loop
            if segment.no_speech_prob <= NO_SPEECH_MAX and not loop:
                texts.append(segment.text.strip())
        return " ".join(t for t in texts if t), looped


SOUNDS_ALIKE = 0.6
"""How close whisper's words must come to tier 1's command to confirm it: difflib's ratio
over the letters, spaces left out. Commands whisper misheard scored 0.63-1.0 ("Cancel
now." for "cancel that", "Good bye." for "goodbye"); questions the grammar forced onto
a command 0-0.57 ("What is the capital of France?" for "what is the date today",
"Hi." for "bye")."""


def sounds_alike(command: str, heard: str) -> bool:
    """Whether whisper's transcript ``heard`` confirms tier 1's ``command``."""
    a, b = (normalise(text).replace(" ", "") for text in (command, heard))
    return bool(a and b) and difflib.SequenceMatcher(None, a, b).ratio() >= SOUNDS_ALIKE


class SpeechRecognizer:
    """Tier 1 first (when enabled), tier 2 when tier 1's result is not a known command.

    With ``confirm`` whisper also hears what tier 1 took for a command, and the command
    stands only when whisper's words sound alike: pocketsphinx's grammar now and then
    forces a question onto a command ("What does a bee make?" → "what is the date today",
    "Hi." → "bye"). Live, both run during the hang-over, so the check costs little there.
    """

    def __init__(
        self,
        grammar: GrammarRecognizer | None,
        whisper: WhisperRecognizer,
        is_command: Callable[[str], bool],
        confirm: bool = True,
        is_exact: Callable[[str], bool] = lambda text: False,
    ) -> None:
        self._grammar = grammar
        self._whisper = whisper
        self._is_command = is_command
        self._confirm = confirm
        self._is_exact = is_exact
        """Whether tier 0.5 answers a transcript exactly ("what was the date yesterday")."""
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sage-asr")

    def begin(self, pcm: bytes) -> Future[Transcript]:
        """Start recognising one utterance on the recognition thread (queued in order)."""
        return self._worker.submit(self._measured, pcm)

    def transcribe(self, pcm: bytes) -> Transcript:
        """Recognise one utterance and wait for it."""
        return self.begin(pcm).result()

    def close(self) -> None:
        """Drop queued work and stop the recognition thread."""
        self._worker.shutdown(wait=True, cancel_futures=True)

    def _measured(self, pcm: bytes) -> Transcript:
        cpu0 = cpu_seconds()
        transcript = self._recognize(pcm)
        return dataclasses.replace(transcript, cpu_s=cpu_seconds() - cpu0)

    def _recognize(self, pcm: bytes) -> Transcript:
        grammar_text: str | None = None
        grammar_ms = 0.0
        if self._grammar is not None:
            t0 = time.perf_counter()
            grammar_text = self._grammar.recognize(pcm)
            grammar_ms = (time.perf_counter() - t0) * 1000
        command = grammar_text if grammar_text and self._is_command(grammar_text) else None
        if command is not None and not self._confirm:
            return Transcript(command, "grammar", grammar_text, None, grammar_ms, 0.0)
        t0 = time.perf_counter()
        whisper_text = self._whisper.recognize(pcm)
        whisper_ms = (time.perf_counter() - t0) * 1000
        if command is not None and self._confirms(command, whisper_text):
            return Transcript(command, "grammar", grammar_text, whisper_text, grammar_ms,
                              whisper_ms)  # fmt: skip
        tier = "whisper" if whisper_text else "none"
        return Transcript(whisper_text, tier, grammar_text, whisper_text, grammar_ms, whisper_ms)

    def _confirms(self, command: str, heard: str) -> bool:
        """Whether whisper's ``heard`` confirms tier 1's ``command``. When whisper heard a
        command, or a question tier 0.5 answers, its words decide ("How are you?" over
        "who are you"; "What was the date yesterday?" over "what is the date today", which
        sound alike by letters); otherwise the two must sound alike ("Good bye." for
        "goodbye", not "Hi." for "bye")."""
        if self._is_command(heard) or self._is_exact(heard):
            return normalise(heard) == normalise(command)
        return sounds_alike(command, heard)


def hotwords_for(rules: list[Rule]) -> str:
    """The vocabulary that biases whisper: the assistant's name and the slot values of
    every rule that has not opted out."""
    words = ["SAGE"]
    for rule in (r for r in rules if r.hotwords):
        for values in rule.slots.values():
            for value, spoken in values.items():
                words.extend((value, *spoken))
    return ", ".join(dict.fromkeys(words))


def word_errors(heard: str, said: str) -> int:
    """Word-level edit distance between two transcripts (for ASR tests and benchmarks)."""

    def words(text: str) -> list[str]:
        # "12:23", "12.23", "12 23", "12-23" and "1223" are the same spoken time
        return normalise(re.sub(r"(?<=\d)[:. -](?=\d)", "", text)).split()

    a, b = words(heard), words(said)
    row = list(range(len(b) + 1))
    for i, wa in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, wb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (wa != wb))
    return row[-1]
