"""The machine a benchmark runs on, and where its figures are kept.

Every benchmark writes its JSON under ``tools/results/<machine>/`` by default, so that
figures from different hosts sit side by side and the README can say which came from
where. ``<machine>`` is the CPU's model name and the widest x86 vector extension this
host has, which is also what ``tools/bootstrap`` builds llama.cpp for: ``amd-epyc-avx2``,
``amd-epyc-avx512``, ``intel-xeon-avx512`` (two hosts of one name and extension share
a folder); on a host with an NVIDIA GPU, the GPU's name (``nvidia-h100-80gb-hbm3``).
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

from sage.host import nvidia_gpus

RESULTS = Path(__file__).resolve().parent / "results"
AVX512 = {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}
"""The AVX-512 subsets tools/bootstrap asks for before it builds llama.cpp with AVX-512."""


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (none off Linux)."""
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return fields
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def vector_extension(flags: set[str]) -> str:
    """ "avx512", "avx2", or the architecture's name where neither is there."""
    if flags >= AVX512:
        return "avx512"
    return "avx2" if "avx2" in flags else platform.machine()


def _slug(name: str) -> str:
    name = re.sub(r"\((?:R|TM)\)|\bprocessor\b|\bcpu\b|@.*", " ", name, flags=re.IGNORECASE)
    return "-".join(re.findall(r"[a-z0-9]+", name.lower()))


def machine_id() -> str:
    """The folder name of this host's results ("amd-epyc-avx2", "nvidia-h100-80gb-hbm3")."""
    gpus = nvidia_gpus()
    if gpus:
        return _slug(gpus[0])
    info = _cpuinfo()
    cpu = _slug(info.get("model name", "")) or platform.machine()
    return f"{cpu}-{vector_extension(set(info.get('flags', '').split()))}"


def commit() -> str | None:
    """The checkout's commit, "+" when files differ from it (None outside git)."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD")
    return head + ("+" if git("status", "--porcelain", "--untracked-files=no") else "") or None


def describe() -> dict[str, Any]:
    """What a benchmark's JSON says of the machine (and of the code it ran)."""
    info = _cpuinfo()
    return {
        "commit": commit(),
        "id": machine_id(),
        "cpu": info.get("model name", platform.machine()),
        "cpu_family": info.get("cpu family"),
        "cpu_model": info.get("model"),
        "cores": os.cpu_count(),
        "gpus": nvidia_gpus(),
        "python": platform.python_version(),
    }


def results_path(benchmark: str) -> Path:
    """Where ``benchmark``'s JSON goes by default on this machine."""
    return RESULTS / machine_id() / f"{benchmark}.json"


def save(result: dict[str, Any], path: Path) -> None:
    """Write a benchmark's JSON to ``path``, its folder made if need be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
