"""Typed errors: each carries a stable code and lands at a stage boundary."""


class SageError(Exception):
    """Base class: a stable machine-readable code plus a one-line human reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ConfigError(SageError):
    """A config file or key is missing, malformed or out of range."""

    def __init__(self, message: str) -> None:
        super().__init__("config", message)


class AudioFormatError(SageError):
    """Audio input that cannot be read or converted to 16 kHz mono s16."""

    def __init__(self, message: str) -> None:
        super().__init__("audio_format", message)


class AudioDeviceError(SageError):
    """No usable microphone or speaker."""

    def __init__(self, message: str) -> None:
        super().__init__("audio_device", message)


class ModelError(SageError):
    """A model file is missing or corrupt; the message names the command that fixes it."""

    def __init__(self, message: str) -> None:
        super().__init__("model", message)


class InputTextError(SageError):
    """Text input that is empty or not text."""

    def __init__(self, message: str) -> None:
        super().__init__("input_text", message)
