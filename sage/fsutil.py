"""Crash-safe file writes (temp file, fsync, rename, fsync the directory) and the small JSON
state files written that way."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


def fsync_dir(directory: Path) -> None:
    """Make a rename inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


class JsonFile(Generic[T]):
    """A small JSON state file (lists, notes, timers, the voice): read whole, written
    atomically. One that cannot be read or parsed is kept aside as ``<name>.corrupt``, so
    nothing in it is lost, and reads as the default."""

    def __init__(self, path: Path, default: Callable[[], T]) -> None:
        self.path = path
        self._default = default

    def load(self, parse: Callable[[Any], T] | None = None) -> T:
        """The file's content through ``parse``, which raises ValueError, TypeError or
        KeyError on a wrong shape; the default when there is no file or it is unusable."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return parse(data) if parse is not None else cast(T, data)
        except FileNotFoundError:
            return self._default()
        except (OSError, ValueError, TypeError, KeyError) as exc:
            aside = self.path.with_name(f"{self.path.name}.corrupt")
            _LOGGER.error("%s is unreadable (%s); kept as %s, starting afresh", self.path, exc,
                          aside.name)  # fmt: skip
            with contextlib.suppress(OSError):
                self.path.replace(aside)
            return self._default()

    def save(self, data: Any) -> bool:
        """Write ``data``; False (logged) when the state folder is not writable."""
        try:
            atomic_write_bytes(self.path, json.dumps(data, indent=1).encode())
        except OSError as exc:
            _LOGGER.error("could not write %s: %s", self.path, exc)
            return False
        return True
