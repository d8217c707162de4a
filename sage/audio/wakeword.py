"""Optional wake word (microphone mode): micro-wakeword models shipped in pymicro-wakeword."""

from __future__ import annotations

from sage.config import WakeConfig
from sage.errors import ConfigError


class WakeWordGate:
    """Passes audio on only within ``window_s`` after the wake word was heard.

    Time is the stream time in seconds, passed in by the caller.
    """

    def __init__(self, config: WakeConfig) -> None:
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        try:
            model = Model(config.model)
        except ValueError:
            known = ", ".join(m.value for m in Model)
            raise ConfigError(f"wake.model {config.model!r} is not one of {known}") from None
        self._detector = MicroWakeWord.from_builtin(model)
        self._features = MicroWakeWordFeatures()
        self._window_s = config.window_s
        self._open_until = -1.0

    def is_open(self, now: float) -> bool:
        """True while listening for a request after the wake word."""
        return now < self._open_until

    def extend(self, now: float) -> None:
        """Keep listening (speech is still under way)."""
        self._open_until = max(self._open_until, now + 1.0)

    def close(self) -> None:
        """A request was handled: wait for the wake word again."""
        self._open_until = -1.0
        self._detector.reset()
        self._features.reset()

    def feed(self, block: bytes, now: float) -> bool:
        """Look for the wake word in a block; returns True when it opens the window."""
        for features in self._features.process_streaming(block):
            if self._detector.process_streaming(features):
                self._open_until = now + self._window_s
                return True
        return False
