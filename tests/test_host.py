"""Where each engine runs: the choices the daemon makes from what the host offers."""

from __future__ import annotations

from pathlib import Path

import onnxruntime
import pytest

from sage import host
from sage.cascade.onnx_draft import choose_providers
from sage.speech.tts import PiperSpeaker


def test_the_summary_names_each_engine_and_its_device() -> None:
    line = host.summary()
    device, compute = host.whisper_device()
    assert " · llama.cpp " in line and f"whisper {device} {compute}" in line
    assert ("llama.cpp GPU offload" in line) is host.llama_gpu_offload()
    assert f"piper {'cuda' if host.onnx_cuda() else 'cpu'}" in line
    offered = choose_providers(onnxruntime.get_available_providers())
    assert line.endswith(f"onnx draft {offered[0]}")


def test_the_llama_build_reports_the_extensions_this_cpu_was_built_for() -> None:
    """tools/bootstrap builds for the AVX-512 and AVX2 this CPU reports (x86 only)."""
    cpuinfo = Path("/proc/cpuinfo")
    flags = set(cpuinfo.read_text().split("flags", 1)[-1].split("\n", 1)[0].split())
    features = host.llama_cpu_features()
    if "avx2" in flags:
        assert "AVX2" in features
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"} <= flags:
        assert "AVX512" in features


def test_piper_leaves_the_cores_to_llama_cpp_between_sentences(piper: PiperSpeaker) -> None:
    """Spinning onnxruntime threads nearly doubled the LLM's next token after a sentence."""
    options = piper._voice.session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert next(piper.speak("Hello.")).pcm  # the voice still speaks with them


def test_cuda_libraries_are_loaded_once_where_onnxruntime_has_cuda(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """onnxruntime's CUDA provider finds a CUDA installed by pip only once its libraries
    are preloaded; a CPU build is left alone."""
    loads: list[None] = []
    monkeypatch.setattr(onnxruntime, "preload_dlls", lambda: loads.append(None))
    host.preload_cuda.cache_clear()
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert not host.onnx_cuda() and not loads
    offered = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: offered)
    assert host.onnx_cuda() and host.onnx_cuda()
    assert len(loads) == 1
    host.preload_cuda.cache_clear()


def test_the_gpus_are_named_as_nvidia_smi_lists_them_or_as_a_jetson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    tegra = tmp_path / "nv_tegra_release"
    monkeypatch.setattr(host, "JETSON_RELEASE", tegra)
    assert host.nvidia_gpus() == []  # no driver tools: no NVIDIA GPU to name
    assert "gpu none" in host.summary()
    smi = tmp_path / "nvidia-smi"
    listed = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)\nGPU 1: NVIDIA A2 (UUID: GPU-2)"
    smi.write_text(f"#!/bin/sh\n[ \"$1\" = -L ] && printf '{listed}\\n'\n")
    smi.chmod(0o755)
    assert host.nvidia_gpus() == ["NVIDIA H100 80GB HBM3", "NVIDIA A2"]
    assert host.summary().startswith("gpu NVIDIA H100 80GB HBM3, NVIDIA A2 · llama.cpp ")
    smi.write_text("#!/bin/sh\n")  # a Jetson's nvidia-smi lists no GPU
    assert host.nvidia_gpus() == []
    tegra.write_text("# R36 (release), REVISION: 4.3\n")
    assert host.nvidia_gpus() == ["Jetson (integrated)"]
