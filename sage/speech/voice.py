"""How loud and how fast SAGE speaks, changed by voice (the rule ``voice``).

"Louder" / "quieter" / "turn it down" step the volume by 20 points between 10 and 100 %
of Piper's normalised level; "set the volume to 40 percent" (or "to 4", out of 10) sets
it. "Speak slower" / "faster" step Piper's pace, two steps either way; "at normal speed"
goes back. Both are kept in ``voice.json`` in the state folder (written atomically), so
a restart keeps them; an unreadable file gives the defaults, logged once and kept aside.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sage.fsutil import JsonFile

VOLUME_STEP = 20
MIN_VOLUME = 10
MAX_VOLUME = 100
PACE_FACTOR = 1.2
"""Piper's length scale is divided by this per step faster, multiplied per step slower."""
MAX_PACE_STEPS = 2
_LEVEL = re.compile(r"\b(\d+)(?: ?(?:percent|%))?(?: out of 10)?$")


@dataclass
class Voice:
    volume: int = MAX_VOLUME
    """Percent of Piper's normalised level."""
    pace: int = 0
    """Steps faster (> 0) or slower (< 0) than the configured speaking rate."""


class VoiceSettings:
    """The voice's volume and pace, and the replies that change them."""

    def __init__(self, path: Path | None) -> None:
        self._file = JsonFile(path, Voice) if path is not None else None
        """``voice.json``; None keeps the settings in memory only."""
        self.voice = self._file.load(_voice) if self._file is not None else Voice()

    def synthesis(self, length_scale: float) -> tuple[float, float]:
        """Piper's volume (0-1) and length scale for the configured ``length_scale``."""
        return self.voice.volume / 100, length_scale / PACE_FACTOR**self.voice.pace

    def change(self, slots: dict[str, str], said: str) -> str:
        """Apply what the rule ``voice`` heard; the reply says the new setting."""
        if "pace" in slots:
            return self._pace(slots["pace"])
        if way := slots.get("volume") or slots.get("way"):  # "louder", "turn it up"
            return self._volume(way)
        level = _LEVEL.search(said)
        if level is None:
            return (f"My volume is {self.voice.volume} percent. Say louder or quieter, "
                    "or set the volume to a percentage.")  # fmt: skip
        number = int(level[1])
        percent = number * 10 if number <= 10 and "percent" not in said else number
        if not MIN_VOLUME <= percent <= MAX_VOLUME:
            return f"I can set my volume from {MIN_VOLUME} to {MAX_VOLUME} percent."
        self.voice.volume = percent
        self._save()
        return f"Okay, volume {percent} percent."

    def _volume(self, way: str) -> str:
        step = VOLUME_STEP if way == "louder" else -VOLUME_STEP
        volume = min(MAX_VOLUME, max(MIN_VOLUME, self.voice.volume + step))
        if volume == self.voice.volume:
            if way == "louder":
                return "I'm at full volume; the volume control on this device goes louder."
            return f"This is as quiet as I go: {MIN_VOLUME} percent."
        self.voice.volume = volume
        self._save()
        return f"Okay, volume {volume} percent."

    def _pace(self, way: str) -> str:
        if way == "normally":
            self.voice.pace = 0
            self._save()
            return "Okay, this is my normal pace."
        step = 1 if way == "faster" else -1
        pace = self.voice.pace + step
        if abs(pace) > MAX_PACE_STEPS:
            return "That's as fast as I speak." if step > 0 else "That's as slow as I speak."
        self.voice.pace = pace
        self._save()
        return f"Okay, I'll speak {way}."

    def _save(self) -> None:
        if self._file is not None:  # a failed write is logged; the change holds until a restart
            self._file.save(asdict(self.voice))


def _voice(data: Any) -> Voice:
    """The settings in the file (ValueError when out of range)."""
    voice = Voice(**data)
    if not (MIN_VOLUME <= voice.volume <= MAX_VOLUME and abs(voice.pace) <= MAX_PACE_STEPS):
        raise ValueError(f"out of range: {voice}")
    return voice
