"""Domain modifiers: the domain classifier, the GGUF adapter writer, and the modifier tier."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import gguf
import pytest

from sage.cascade.adapters import classify_domain
from sage.cascade.cascade import Cascade, Generation
from sage.cascade.chat import ChatModel
from sage.catalog import ModelCache
from sage.config import CascadeConfig, Config
from sage.errors import ModelError

MESSAGES = [{"role": "user", "content": "What colour is the sky?"}]


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("In Python, how do I reverse a list?", "code"),
        ("What does HTML stand for?", "code"),
        ("What is 15 percent of 80?", "math"),
        ("How many sides does a hexagon have?", "math"),
        ("Why does my kettle have limescale?", "home"),
        ("Restart the wifi router", "home"),
        ("Who wrote Hamlet?", "general"),
        ("", "general"),
    ],
)
def test_classify_domain(text: str, domain: str) -> None:
    assert classify_domain(text) == domain


@pytest.fixture(scope="module")
def tiny_path(models: ModelCache) -> Path:
    return models.path("tiny")


@pytest.fixture(scope="module")
def adapter(tiny_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("adapters") / "general.gguf"
    done = subprocess.run(
        [sys.executable, "tools/make_adapter.py", "--role", "tiny", "--domain", "general",
         "--std", "0.05", "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_adapter_file_is_in_llama_cpp_lora_format(adapter: Path, tiny_path: Path) -> None:
    reader = gguf.GGUFReader(adapter)
    assert reader.fields["general.type"].contents() == "adapter"
    assert reader.fields["adapter.type"].contents() == "lora"
    assert reader.fields["general.architecture"].contents() == "llama"
    tensors = {t.name: [int(x) for x in t.shape] for t in reader.tensors}
    base = {t.name: [int(x) for x in t.shape] for t in gguf.GGUFReader(tiny_path).tensors}
    n_in, n_out = base["blk.0.attn_q.weight"]
    assert tensors["blk.0.attn_q.weight.lora_a"] == [n_in, 8]
    assert tensors["blk.0.attn_q.weight.lora_b"] == [8, n_out]


@pytest.fixture(scope="module")
def tiny(tiny_path: Path) -> Iterator[ChatModel]:
    model = ChatModel(tiny_path, 1024, 2, role="tiny")
    yield model
    model.close()


def greedy(model: ChatModel) -> str:
    return "".join(piece for piece, _ in model.stream(MESSAGES, 24))


def test_switching_the_adapter_on_changes_the_output_and_off_restores_it(
    tiny: ChatModel, adapter: Path
) -> None:
    plain = greedy(tiny)
    tiny.use_adapter(adapter)
    modified = greedy(tiny)
    tiny.use_adapter(None)
    assert modified != plain
    assert greedy(tiny) == plain


def test_a_file_that_is_not_an_adapter_is_a_model_error(tiny: ChatModel, tmp_path: Path) -> None:
    bogus = tmp_path / "code.gguf"
    bogus.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelError):
        tiny.use_adapter(bogus)
    assert greedy(tiny)  # the model still answers


def test_unsure_base_escalates_to_the_domain_modifier(tiny: ChatModel, adapter: Path) -> None:
    config = Config(cascade=CascadeConfig(draft_role="", escalate_low_prob=0.999,
                                          adapters_dir=adapter.parent))  # fmt: skip
    cascade = Cascade(config, load=lambda tier, role, draft: tiny)
    stats = Generation()
    answer = " ".join(cascade.respond("What colour is the sky?", stats, "novel"))
    assert answer
    assert (stats.domain, stats.escalated_from, stats.tier) == ("general", "base", "modifier")
    assert [(c.tier, c.outcome) for c in stats.calls] == [
        ("base", "escalated"),
        ("modifier", "spoken"),
    ]
    assert tiny.adapter is None  # switched off again after the turn
