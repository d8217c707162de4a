"""KV-cache snapshots: llama.cpp state files with a sidecar, written atomically, LRU-capped.

A snapshot is ``<name>.state`` (llama.cpp's own session file: the KV cache and its
tokens, not the logits buffer that ``Llama.save_state`` copies) plus ``<name>.json``::

    {"format": 1, "model_sha256": ..., "n_ctx": ..., "library": "0.3.36",
     "tokens": 498, "payload_sha256": ..., "payload_bytes": ..., "saved_at": ..., "meta": {}}

Both are written under temporary names, fsynced, renamed (payload first, sidecar last) and
the directory fsynced. A crash between the two renames leaves a payload whose sha256 the
sidecar does not vouch for: a cache miss, like any mismatch, truncation or corruption.
A miss is logged once, its files are removed, and the caller starts cold.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sage.catalog import sha256_file
from sage.fsutil import atomic_write_bytes, fsync_dir

_LOGGER = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Bumped when the sidecar or the way SAGE fills a snapshot changes."""


class _Miss(Exception):
    """Why a snapshot is not loaded."""


@dataclass(frozen=True)
class SnapshotKey:
    """What a snapshot must match to be loaded into a context."""

    model_sha256: str
    n_ctx: int
    library: str
    format: int = FORMAT_VERSION


@dataclass(frozen=True)
class Restored:
    """A snapshot loaded into a context."""

    tokens: list[int]
    meta: dict[str, Any]
    saved_at: float


class SnapshotStore:
    """A directory of named snapshots, at most ``cap_bytes`` of payload in all."""

    def __init__(self, directory: Path, cap_bytes: int) -> None:
        self.directory = directory
        self.cap_bytes = cap_bytes
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob(".*"):  # temporary files of a save that was killed
            stale.unlink(missing_ok=True)

    def _paths(self, name: str) -> tuple[Path, Path]:
        return self.directory / f"{name}.state", self.directory / f"{name}.json"

    def save(
        self,
        name: str,
        key: SnapshotKey,
        write: Callable[[Path], int],
        meta: dict[str, Any] | None = None,
    ) -> bool:
        """Write a snapshot; ``write(path)`` saves the state file and returns its token
        count. False (logged) when the library could not write it."""
        payload, sidecar = self._paths(name)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{payload.name}.tmp", dir=self.directory)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            tokens = write(tmp)
            with tmp.open("rb") as f:
                os.fsync(f.fileno())
            record = {
                **asdict(key),
                "tokens": tokens,
                "payload_sha256": sha256_file(tmp),
                "payload_bytes": tmp.stat().st_size,
                "saved_at": time.time(),
                "meta": meta or {},
            }
            os.replace(tmp, payload)
            atomic_write_bytes(sidecar, json.dumps(record).encode())  # fsyncs the directory
        except OSError as exc:
            _LOGGER.error("snapshot %s not saved: %s", name, exc)
            return False
        finally:
            tmp.unlink(missing_ok=True)
        self._evict(keep=name)
        return True

    def load(
        self, name: str, key: SnapshotKey, read: Callable[[Path], list[int] | None]
    ) -> Restored | None:
        """Load a snapshot through ``read(path)`` (which returns the restored tokens, or
        None when the library refuses the file); None on any miss."""
        payload, sidecar = self._paths(name)
        if not sidecar.exists() and not payload.exists():
            return None
        try:
            record = self._verified(payload, sidecar, key)
            tokens = read(payload)
            if tokens is None or len(tokens) != record["tokens"]:
                raise _Miss("the library refused it")
        except _Miss as miss:
            _LOGGER.warning("snapshot %s is a cache miss (%s); starting cold", name, miss)
            self.remove(name)
            return None
        os.utime(sidecar)  # least recently used is judged by the sidecar's mtime
        return Restored(tokens, record.get("meta", {}), record["saved_at"])

    def _verified(self, payload: Path, sidecar: Path, key: SnapshotKey) -> dict[str, Any]:
        """The sidecar, once it vouches for this context and this payload; else _Miss."""
        try:
            record = json.loads(sidecar.read_text())
        except (OSError, ValueError) as exc:
            raise _Miss(f"unreadable sidecar: {exc}") from None
        if not isinstance(record, dict):
            raise _Miss("unreadable sidecar")
        for field, expected in asdict(key).items():
            if record.get(field) != expected:
                raise _Miss(f"{field} is {record.get(field)!r}, this context has {expected!r}")
        try:
            size = payload.stat().st_size
        except OSError:
            raise _Miss("payload missing") from None
        if size != record.get("payload_bytes"):
            raise _Miss(f"payload is {size} bytes, the sidecar says {record.get('payload_bytes')}")
        if sha256_file(payload) != record.get("payload_sha256"):
            raise _Miss("payload sha256 differs (corrupt or torn)")
        return record

    def remove(self, name: str) -> None:
        """Delete a snapshot's files."""
        for path in self._paths(name):
            path.unlink(missing_ok=True)
        fsync_dir(self.directory)

    def entries(self) -> list[dict[str, Any]]:
        """Name, payload bytes and last use of every snapshot, most recent first."""
        rows = []
        for sidecar in self.directory.glob("*.json"):
            payload = sidecar.with_suffix(".state")
            if payload.exists():
                rows.append({"name": sidecar.stem, "bytes": payload.stat().st_size,
                             "used_at": sidecar.stat().st_mtime})  # fmt: skip
        return sorted(rows, key=lambda row: row["used_at"], reverse=True)

    def _evict(self, keep: str) -> None:
        """Drop least recently used snapshots until the payloads fit the cap."""
        rows = self.entries()
        total = sum(row["bytes"] for row in rows)
        for row in reversed(rows):
            if total <= self.cap_bytes:
                break
            if row["name"] != keep:
                _LOGGER.info("snapshot %s evicted (cap %d MB)", row["name"], self.cap_bytes >> 20)
                self.remove(row["name"])
                total -= row["bytes"]

    def housekeep(self) -> None:
        """Remove payloads without a sidecar (and vice versa), then apply the cap."""
        for path in self.directory.iterdir():
            if path.suffix in (".state", ".json") and not path.name.startswith("."):
                other = path.with_suffix(".json" if path.suffix == ".state" else ".state")
                if not other.exists():
                    path.unlink(missing_ok=True)
        self._evict(keep="")
