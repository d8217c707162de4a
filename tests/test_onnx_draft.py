"""The ONNX draft backend: provider order, KV cache, agreement with the GGUF draft,
speculation."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from sage.cascade.cascade import Cascade
from sage.cascade.chat import ChatModel
from sage.cascade.onnx_draft import (
    OnnxDraft,
    choose_providers,
    shared_prefix,
    tensorrt_options,
)
from sage.cascade.speculation import DraftProposer
from sage.catalog import ModelCache
from sage.config import CascadeConfig, Config
from sage.errors import ModelError
from tests.conftest import assert_same_greedy_text

PROMPTS = ["What colour is the sky?", "Write a Python function that adds two numbers.",
           "Name three fruits."]  # fmt: skip


@pytest.mark.parametrize(
    ("available", "chosen"),
    [
        (["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
         ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]),
        (["CUDAExecutionProvider", "CPUExecutionProvider"],
         ["CUDAExecutionProvider", "CPUExecutionProvider"]),
        (["CPUExecutionProvider", "AzureExecutionProvider"], ["CPUExecutionProvider"]),
        ([], ["CPUExecutionProvider"]),
    ],
)  # fmt: skip
def test_providers_in_order_of_preference(available: list[str], chosen: list[str]) -> None:
    assert choose_providers(available) == chosen


@pytest.mark.parametrize(
    ("a", "b", "n"), [([], [1], 0), ([1, 2, 3], [1, 2, 3], 3), ([1, 2, 3], [1, 2], 2),
                      ([1, 2, 3], [1, 9, 3], 1), ([4], [1], 0)],
)  # fmt: skip
def test_shared_prefix(a: list[int], b: list[int], n: int) -> None:
    assert shared_prefix(a, b) == n


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model's GGUF exported by the real tool (about a minute on 2 cores)."""
    out = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    done = subprocess.run(
        [sys.executable, "tools/export_draft_onnx.py", "--role", "tiny", "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def tiny(models: ModelCache) -> Iterator[ChatModel]:
    model = ChatModel(models.path("tiny"), 1024, 2, role="tiny")
    yield model
    model.close()


def test_onnx_proposals_agree_with_the_gguf_draft(exported: Path, tiny: ChatModel) -> None:
    onnx = OnnxDraft(exported, k=8)
    assert onnx.providers[-1] == "CPUExecutionProvider"
    options = onnx.session.get_session_options()  # it leaves the cores to the base
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    gguf = DraftProposer(tiny.llm, k=8)
    agreed = 0
    for prompt in PROMPTS:
        ids, _ = tiny.prompt_tokens([{"role": "user", "content": prompt}])
        ours, theirs = onnx.propose(ids), gguf.propose(ids)
        assert ours[0] == theirs[0]  # the next token always agrees
        for a, b in zip(ours, theirs, strict=True):
            if a != b:
                break
            agreed += 1
    # float32 weights de-quantised from Q4_1 against llama.cpp's Q4_1 kernels: proposals
    # part ways after a near-tie now and then; most of the time they match
    assert agreed / (8 * len(PROMPTS)) >= 0.6


def test_the_kv_cache_changes_nothing_but_the_work(exported: Path, tiny: ChatModel) -> None:
    """Calls as speculation makes them (the text grows by accepted tokens, then the base's
    own) give what a cold cache gives, and only the new tokens are evaluated."""
    ids, _ = tiny.prompt_tokens([{"role": "user", "content": PROMPTS[1]}])
    warm, cold = OnnxDraft(exported, k=4), OnnxDraft(exported, k=4)
    text = list(ids)
    for step in range(4):
        proposal = warm.propose(text)
        cold.reset()
        assert proposal == cold.propose(text)
        assert len(warm.cached) == len(text) + 3  # the prompt and all but the last proposal
        accepted = proposal[: step % 3]  # then the base's token differs from the draft's
        text += [*accepted, proposal[len(accepted)] ^ 1]


def test_an_export_without_a_cache_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["input_ids"], ["logits"])], "old",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, None])],
        [helper.make_tensor_value_info("logits", TensorProto.INT64, [1, None])],
    )  # fmt: skip
    path = tmp_path / "old.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ModelError, match="KV cache"):
        OnnxDraft(path)


def test_tensorrt_gets_one_profile_for_every_turn_and_a_kept_engine(tmp_path: Path) -> None:
    options = tensorrt_options((24, 2, 64), 2048, tmp_path)
    assert options["trt_profile_min_shapes"] == (
        "input_ids:1x1,past_keys:24x1x2x0x64,past_values:24x1x2x0x64")  # fmt: skip
    assert options["trt_profile_max_shapes"] == (
        "input_ids:1x2048,past_keys:24x1x2x2048x64,past_values:24x1x2x2048x64")  # fmt: skip
    assert "x1x2x256x64" in options["trt_profile_opt_shapes"]
    assert options["trt_engine_cache_path"] == str(tmp_path)
    assert options["trt_engine_cache_enable"] == options["trt_fp16_enable"] == "True"


def test_a_tensorrt_host_gets_the_options(exported: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where onnxruntime offers TensorRT, the session is asked for it with the export's
    own cache shape, and runs on a provider this onnxruntime really has: on a CPU build
    the CPU, which onnxruntime says after warning that it has no TensorRT; on a GPU build
    without TensorRT's libraries (the H100 of *Measured*) CUDA, after onnxruntime's own
    fallback."""
    import onnxruntime

    real = onnxruntime.get_available_providers()
    offered = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: offered)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draft = OnnxDraft(exported, max_tokens=1024)
    name, options = draft.providers[0]
    assert name == "TensorrtExecutionProvider"
    assert options == tensorrt_options((30, 3, 64), 1024, exported.parent / "tensorrt")
    assert draft.providers[1:] == offered[1:]
    if "TensorrtExecutionProvider" not in real:
        assert any("TensorrtExecutionProvider" in str(w.message) for w in caught)
    assert draft.session.get_providers()[0] in real


def test_a_damaged_export_names_the_command(tmp_path: Path) -> None:
    path = tmp_path / "draft.onnx"
    path.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelError, match="export_draft_onnx"):
        OnnxDraft(path)


def test_missing_export_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="export_draft_onnx"):
        OnnxDraft(tmp_path / "draft.onnx")


def test_speculating_with_the_onnx_draft_keeps_the_text(
    exported: Path, models: ModelCache, tiny: ChatModel
) -> None:
    messages = [{"role": "user", "content": PROMPTS[1]}]
    tiny.llm.reset()
    plain = "".join(p for p, _ in tiny.stream(messages, 24))
    proposer = OnnxDraft(exported, k=4)
    speculative = ChatModel(models.path("tiny"), 1024, 2, role="tiny", draft=proposer)
    try:
        got = "".join(p for p, _ in speculative.stream(messages, 24))
        assert_same_greedy_text(speculative, messages, plain, got)
    finally:
        speculative.close()
    assert proposer.proposed > 0 and proposer.acceptance > 0


def test_the_cascade_uses_the_onnx_backend_when_configured(exported: Path) -> None:
    config = Config(cascade=CascadeConfig(speculation="on", draft_backend="onnx",
                                          onnx_draft=exported))  # fmt: skip
    cascade = Cascade(config, load=lambda tier, role, proposer: None)  # type: ignore[arg-type,return-value]
    assert isinstance(cascade._proposer(), OnnxDraft)
