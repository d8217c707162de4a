"""Train a LoRA adapter for a GGUF model on torch (CPU) and write it in llama.cpp's GGUF
adapter format.

transformers loads the GGUF (dequantised to float32) with its own tokenizer and chat
template, peft adds low-rank factors to the value and output projections, and the loss
is taken on the answer tokens only: the cross-entropy of the answer, or, where the
example carries the teacher's :class:`Targets`, the KL divergence from the teacher's
next-token distribution (its top k, renormalised) at every answer position. Distilling
the distribution teaches how the teacher would go on at each step, including where it
hesitates between wordings, not only the one wording it chose. The factors are written by
:func:`sage.cascade.adapters.write_lora` under llama.cpp's tensor names
(``blk.N.attn_v.weight.lora_a`` ...), with ``adapter.lora.alpha`` equal to peft's
``lora_alpha`` so that llama.cpp scales them by alpha / rank as peft does. The value and
output projections are chosen because llama.cpp stores them as Hugging Face does (the
query and key projections of llama models are permuted in GGUF).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sage.cascade.adapters import write_lora

_LOGGER = logging.getLogger(__name__)

GGUF_NAMES = {"v_proj": "attn_v", "o_proj": "attn_output"}
"""peft target module → llama.cpp tensor kind."""
_PEFT_NAME = re.compile(r"layers\.(\d+)\.self_attn\.(\w+)\.lora_([AB])\.default\.weight$")


@dataclass(frozen=True)
class Targets:
    """The teacher's next-token distribution at each position of its answer."""

    tokens: list[int]
    """The answer as token ids, ending with the end-of-turn token."""
    top: list[list[int]]
    """Per position, the teacher's k most likely next tokens, most likely first."""
    logprobs: list[list[float]]
    """Their log-probabilities (over the whole vocabulary)."""


@dataclass(frozen=True)
class Example:
    """A prompt (chat messages) and the answer the student should give."""

    messages: list[dict[str, str]]
    answer: str
    targets: Targets | None = None
    """The teacher's distribution over the answer, when the student distils it."""


@dataclass(frozen=True)
class TrainResult:
    """What training did."""

    steps: int
    first_loss: float
    last_loss: float
    completed: bool
    """False when it stopped early because it was told to yield."""


def train_lora(
    student: Path,
    examples: Sequence[Example],
    out: Path,
    steps: int = 40,
    rank: int = 8,
    alpha: int = 16,
    learning_rate: float = 2e-3,
    threads: int = 2,
    should_yield: Callable[[], bool] = lambda: False,
    seed: int = 0,
) -> TrainResult:
    """Train on ``examples`` for ``steps`` steps (one example each, round robin) and write
    the adapter to ``out``. Nothing is written when it yields before the last step."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not examples:
        raise ValueError("no examples to train on")
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(str(student.parent), gguf_file=student.name)
    base = AutoModelForCausalLM.from_pretrained(
        str(student.parent), gguf_file=student.name, dtype=torch.float32
    )
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(GGUF_NAMES),
                        lora_dropout=0.0, bias="none")  # fmt: skip
    model = get_peft_model(base, config)
    batches = [_tokenized(tokenizer, example) for example in examples]
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=learning_rate
    )
    model.train()
    _check_each_layer(model, should_yield)
    losses: list[float] = []
    for step in range(steps):
        input_ids, labels, soft = batches[step % len(batches)]
        try:
            if should_yield():
                raise _Interrupted
            if soft is None:
                loss = model(input_ids=input_ids, labels=labels).loss
            else:
                loss = _distillation_loss(model(input_ids=input_ids).logits, *soft)
            loss.backward()
        except _Interrupted:
            _LOGGER.info("training yielded at step %d of %d", step, steps)
            return TrainResult(step, losses[0] if losses else 0.0,
                               losses[-1] if losses else 0.0, completed=False)  # fmt: skip
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss.item()))
    write_lora(student, out, factors=_gguf_factors(model), rank=rank, alpha=float(alpha),
               targets=tuple(GGUF_NAMES.values()))  # fmt: skip
    _LOGGER.info("trained %s: %d steps, loss %.3f → %.3f", out.name, steps, losses[0], losses[-1])
    return TrainResult(steps, losses[0], losses[-1], completed=True)


class _Interrupted(Exception):
    """Someone spoke in the middle of a training step."""


def _check_each_layer(model: Any, should_yield: Callable[[], bool]) -> None:
    """Ask ``should_yield`` as each decoder layer runs, forward and backward, so a step
    (seconds for a 0.5B model on a small CPU) is abandoned within a layer's time."""

    def check(*_: Any) -> None:
        if should_yield():
            raise _Interrupted

    # The backward hooks fire although the layers' inputs need no gradient (only the
    # LoRA factors do); torch warns about exactly that, which is what is wanted here.
    warnings.filterwarnings("ignore", "Full backward hook is firing", UserWarning)
    for layer in model.base_model.model.model.layers:
        layer.register_forward_pre_hook(check)
        layer.register_full_backward_pre_hook(check)


def _tokenized(tokenizer: Any, example: Example) -> tuple[Any, Any, tuple[Any, ...] | None]:
    """Input ids of prompt + answer + end of turn; labels only on the answer part; and
    where the teacher's targets are given, (first answer position, their top tokens,
    their log-probabilities) for :func:`_distillation_loss`."""
    import torch

    prompt = tokenizer.apply_chat_template(example.messages, tokenize=False,
                                           add_generation_prompt=True)  # fmt: skip
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    targets = example.targets
    if targets is not None:
        answer_ids = list(targets.tokens)  # the teacher's tokens: its rows line up with them
    else:
        answer = example.answer + tokenizer.eos_token
        answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + answer_ids])
    labels = torch.tensor([[-100] * len(prompt_ids) + answer_ids])
    if targets is None:
        return ids, labels, None
    soft = (len(prompt_ids), torch.tensor(targets.top), torch.tensor(targets.logprobs))
    return ids, labels, soft


def _distillation_loss(logits: Any, start: int, top: Any, teacher_logprobs: Any) -> Any:
    """KL(teacher ‖ student) over the teacher's top k at each answer position, the
    teacher's probabilities renormalised over them; the student's log-probabilities are
    over the whole vocabulary, so mass it puts elsewhere counts against it."""
    import torch

    rows = logits[0, start - 1 : start - 1 + len(top)]  # the rows that predict the answer
    student = torch.log_softmax(rows, dim=-1).gather(1, top)
    teacher = torch.log_softmax(teacher_logprobs, dim=-1)
    return (teacher.exp() * (teacher - student)).sum(dim=-1).mean()


def _gguf_factors(model: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """peft's factors under llama.cpp's names: A (r, n_in), B (n_out, r)."""
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for name, tensor in model.named_parameters():
        match = _PEFT_NAME.search(name)
        if match is None:
            continue
        layer, module, which = match.groups()
        gguf_name = f"blk.{layer}.{GGUF_NAMES[module]}.weight"
        pairs.setdefault(gguf_name, {})[which] = tensor.detach().float().numpy()
    return {name: (pair["A"], pair["B"]) for name, pair in pairs.items()}
