"""What each engine runs on here, chosen from what this host and the installed builds offer.

One place for the choices the daemon makes at load (llama.cpp offloads to a GPU when its
build can, whisper runs on CUDA when CTranslate2 sees a device, Piper and the ONNX draft
on onnxruntime's CUDA provider when it has one), so ``sage status`` can show them; and
where the host is, as far as its time zone tells (the seasons' hemisphere, the emergency
number's country).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

JETSON_RELEASE = Path("/etc/nv_tegra_release")


def time_zone() -> str:
    """The host's time zone name: TZ, else /etc/localtime's link, else /etc/timezone."""
    key = os.environ.get("TZ", "").lstrip(":")
    if not key:
        localtime = Path("/etc/localtime")
        target = str(localtime.resolve()) if localtime.is_symlink() else ""
        key = target.split("/zoneinfo/", 1)[1] if "/zoneinfo/" in target else ""
    if not key and (named := Path("/etc/timezone")).is_file():  # a copied /etc/localtime
        key = named.read_text().strip()
    return key


def time_zone_row() -> tuple[str, str] | None:
    """(ISO 3166 country code, coordinates) of the host's time zone in the time zone
    database's zone.tab: ("GB", "+513030-0000731") for Europe/London; None for a zone
    not listed (UTC, an alias)."""
    key = time_zone()
    return next(((r[0], r[1]) for r in zone_table("zone.tab") if r[2:3] == (key,)), None)


@functools.cache
def zone_table(name: str) -> tuple[tuple[str, ...], ...]:
    """The rows of one of the time zone database's tables ("zone.tab", "iso3166.tab"),
    without comments; none where the database has no such table."""
    for folder in zoneinfo.TZPATH:
        table = Path(folder) / name
        if table.is_file():
            lines = table.read_text(errors="replace").splitlines()
            return tuple(tuple(line.split("\t")) for line in lines if not line.startswith("#"))
    return ()


def nvidia_gpus() -> list[str]:
    """The names of the NVIDIA GPUs ``nvidia-smi -L`` lists, or a Jetson's own (whose
    nvidia-smi, where there is one, may list none)."""
    names: list[str] = []
    if shutil.which("nvidia-smi") is not None:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
        names = re.findall(r"^GPU \d+: (.+?)(?: \(UUID: .*\))?$", listed.stdout, re.MULTILINE)
    if not names and JETSON_RELEASE.exists():
        names = ["Jetson (integrated)"]
    return names


def llama_gpu_offload() -> bool:
    """This llama.cpp build can offload layers to a GPU (CUDA, Metal, ...)."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def llama_cpu_features() -> list[str]:
    """The SIMD extensions this llama.cpp build was compiled for (AVX512, NEON, ...)."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    return re.findall(r"\b(AVX\w*|NEON|SVE\w*|DOTPROD|MATMUL_INT8) = 1", info)


def whisper_device() -> tuple[str, str]:
    """(device, compute type) for faster-whisper."""
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        return "cuda", "int8_float16"
    return "cpu", "int8"


def onnx_cuda() -> bool:
    """onnxruntime here has the CUDA provider (Piper's voice runs on it), its libraries
    loaded (:func:`preload_cuda`)."""
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return False
    preload_cuda()
    return True


@functools.cache
def preload_cuda() -> None:
    """Load CUDA's and cuDNN's libraries for onnxruntime's CUDA and TensorRT providers, from
    pip's nvidia-* packages where they are (else the system's library path). Without this,
    a CUDA installed by pip (``onnxruntime-gpu[cuda,cudnn]``, or PyTorch's) is not found:
    the provider fails to start and onnxruntime falls back to the CPU."""
    import onnxruntime

    onnxruntime.preload_dlls()


def onnx_session_options() -> Any:
    """onnxruntime options for a session that shares the cores with llama.cpp.

    By default onnxruntime's worker threads spin for a while after each run, and on a
    2-core host they take the cores from llama.cpp: the 0.5B draft's next token took
    62 ms instead of 35 right after Piper spoke a sentence. Without spinning, Piper's
    sentence takes about 4 ms longer.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def engines() -> dict[str, str]:
    """Where llama.cpp, whisper, Piper and an ONNX draft run on this host."""
    import onnxruntime

    from sage.cascade.onnx_draft import choose_providers

    features = llama_cpu_features()
    llama = "GPU offload" if llama_gpu_offload() else "CPU"
    if features:
        llama += f" ({' '.join(features)})"
    return {
        "gpu": ", ".join(nvidia_gpus()) or "none",
        "llama.cpp": llama,
        "whisper": " ".join(whisper_device()),
        "piper": "cuda" if onnx_cuda() else "cpu",
        "onnx draft": choose_providers(onnxruntime.get_available_providers())[0],
    }


def summary(found: Mapping[str, str] | None = None) -> str:
    """``found`` (by default :func:`engines`) on one line."""
    found = engines() if found is None else found
    return " · ".join(f"{engine} {device}" for engine, device in found.items())
