"""Domain modifiers: LoRA adapters in llama.cpp's GGUF adapter format, and the domain of a request.

An adapter for domain ``D`` lives at ``<adapters_dir>/D.gguf`` (DREAM writes them there).
:func:`write_lora` writes one in the real format from given or random low-rank factors:
``general.type = adapter``, ``adapter.type = lora``, ``adapter.lora.alpha``, and for each
adapted weight ``W`` (ggml shape [n_in, n_out]) the tensors ``W.lora_a`` [n_in, r] and
``W.lora_b`` [r, n_out], which is what llama.cpp's loader checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from sage.config import Config

DOMAINS = ("code", "math", "home", "general")
_DOMAIN_WORDS = {
    "code": r"python|javascript|code|coding|function|variable|compile|bug|git|linux|bash|"
    r"command|terminal|html|css|sql|api|regex|script|program|stand for",
    "math": r"plus|minus|times|divided|percent|square|root|sum|equation|prime|number|"
    r"how many|how much|half|double|triangle|angle|average|\d",
    "home": r"light|lights|heating|thermostat|fridge|oven|kettle|wifi|router|service|"
    r"systemctl|restart|smoke|battery|door|lock|garden|laundry|dishwasher|circuit|fuse",
}
_DOMAIN_RES = {d: re.compile(rf"\b(?:{w})\b") for d, w in _DOMAIN_WORDS.items()}


def classify_domain(text: str) -> str:
    """code / math / home / general, by the most keyword hits (ties in that order)."""
    lowered = text.lower()
    hits = {domain: len(pattern.findall(lowered)) for domain, pattern in _DOMAIN_RES.items()}
    best = max(hits, key=lambda d: hits[d])
    return best if hits[best] else "general"


def adapters_dir(config: Config) -> Path:
    """Where adapters live: ``[cascade] adapters_dir``, else ``<state_dir>/adapters``."""
    return config.cascade.adapters_dir or config.paths.state_dir / "adapters"


def draft_adapter(config: Config) -> Path:
    """The draft's adapter, as DREAM promotes it (it may not exist)."""
    return adapters_dir(config) / "draft.gguf"


def adapter_for(adapters_dir: Path, domain: str) -> Path | None:
    """The adapter file for a domain, when there is one."""
    path = adapters_dir / f"{domain}.gguf"
    return path if path.is_file() else None


def target_shapes(
    base_gguf: Path, targets: tuple[str, ...]
) -> tuple[str, dict[str, tuple[int, int]]]:
    """Architecture name and the ggml shapes [n_in, n_out] of the weights to adapt."""
    import gguf

    reader = gguf.GGUFReader(base_gguf)
    arch = reader.fields["general.architecture"].contents()
    shapes = {}
    for tensor in reader.tensors:
        kind = tensor.name.split(".")[-2] if tensor.name.count(".") >= 2 else ""
        if tensor.name.startswith("blk.") and tensor.name.endswith(".weight") and kind in targets:
            n_in, n_out = (int(x) for x in tensor.shape[:2])
            shapes[tensor.name] = (n_in, n_out)
    return str(arch), shapes


def write_lora(
    base_gguf: Path,
    out: Path,
    factors: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    rank: int = 8,
    alpha: float = 16.0,
    init_std: float = 0.02,
    seed: int = 0,
    targets: tuple[str, ...] = ("attn_q", "attn_v"),
) -> Path:
    """Write a LoRA adapter for ``base_gguf``; random factors unless ``factors`` are given.

    ``factors`` maps a weight name to (A with shape (r, n_in), B with shape (n_out, r)),
    numpy's row-major view of the ggml shapes above.
    """
    import gguf

    arch, shapes = target_shapes(base_gguf, targets)
    if not shapes:
        raise ValueError(f"{base_gguf.name} has no weights named {targets}")
    if factors is not None and set(factors) != set(shapes):
        missing = sorted(set(shapes) ^ set(factors))[:3]
        raise ValueError(f"factors do not match the model's {targets} weights: {missing}")
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(out), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    for name, (n_in, n_out) in shapes.items():
        if factors is not None and name in factors:
            a, b = factors[name]
        else:
            a = rng.normal(0.0, init_std, (rank, n_in))
            b = rng.normal(0.0, init_std, (n_out, rank))
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(a, dtype=np.float32))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(b, dtype=np.float32))
    out.parent.mkdir(parents=True, exist_ok=True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
