"""Speculative decoding with the draft model as proposer, switched by measured pay-off.

llama.cpp verifies the proposed tokens in one batch on the base model; the text is the
base's own greedy text either way. Whether it pays depends on the host: on a 2-core CPU
drafting costs about half a base step and speculation was measured *slower*; on a GPU the
base step is the expensive part. So :class:`SpeculationSwitch` measures tokens per second
with and without proposals, per context class, and keeps the faster, re-checking the
other now and then.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from llama_cpp.llama_speculative import LlamaDraftModel

from sage.cascade.llama_thread import on_llama_thread


def resolve_mode(setting: str, gpu_offload: bool) -> str:
    """The config's "auto": adaptive where llama.cpp runs on a GPU, off on a CPU-only build.

    On the 2-core reference CPU (tools/bench_speculation.py) speculating decoded at 0.82x
    the tokens/s of plain decoding with 50 % of proposals kept; a round of 4 proposals
    costs 3.6 base steps there, so it would take 65 % to break even.
    """
    if setting == "auto":
        return "adaptive" if gpu_offload else "off"
    return setting


EXPLORE_EVERY = 10
"""Every this many turns in a context, the mode not in use is measured again."""


@dataclass
class _Speeds:
    on: float | None = None
    off: float | None = None
    turns: int = 0


@dataclass
class SpeculationSwitch:
    """Per context class: propose or not, from measured tokens per second (pure)."""

    mode: str = "adaptive"
    """"adaptive" (measure and choose), "on" or "off"."""
    speeds: dict[str, _Speeds] = field(default_factory=dict)

    def should_speculate(self, context: str | None) -> bool:
        """Decide for the next answer in ``context``."""
        if self.mode != "adaptive":
            return self.mode == "on"
        speeds = self.speeds.setdefault(context or "", _Speeds())
        if speeds.off is None:
            return False  # measure plain decoding first
        if speeds.on is None:
            return True
        faster_on = speeds.on > speeds.off
        if speeds.turns % EXPLORE_EVERY == EXPLORE_EVERY - 1:
            return not faster_on  # re-check the other mode now and then
        return faster_on

    def record(self, context: str | None, speculated: bool, tokens_per_s: float) -> None:
        """Fold one answer's decoding speed into the estimate for its mode."""
        speeds = self.speeds.setdefault(context or "", _Speeds())
        speeds.turns += 1
        old = speeds.on if speculated else speeds.off
        new = tokens_per_s if old is None else 0.7 * old + 0.3 * tokens_per_s
        if speculated:
            speeds.on = new
        else:
            speeds.off = new


class CountingProposer(LlamaDraftModel):
    """The draft seam llama.cpp calls: proposes up to ``k`` tokens, counts acceptance."""

    def __init__(self, k: int = 4, enabled: Callable[[], bool] = lambda: True) -> None:
        self.k = k
        self.enabled = enabled
        self.proposed = 0
        self.accepted = 0
        self._last: tuple[int, np.ndarray] | None = None

    @abc.abstractmethod
    def propose(self, input_ids: list[int]) -> list[int]:
        """Up to ``k`` greedy next tokens after ``input_ids`` (the backend's work)."""

    def __call__(self, input_ids: np.ndarray, /, **kwargs: Any) -> np.ndarray:
        """Up to ``k`` proposed next tokens for ``input_ids`` (none when switched off)."""
        self._count_accepted(input_ids)
        if not self.enabled():
            return np.array([], dtype=np.intc)
        result = np.array(self.propose([int(t) for t in input_ids])[: self.k], dtype=np.intc)
        self._last = (len(input_ids), result)
        self.proposed += len(result)
        return result

    def finish(self, sequence: list[int]) -> None:
        """The answer ended as ``sequence`` (its prompt, every token the base kept and its
        end-of-turn token, if it got that far): the last proposal is judged against it.

        llama.cpp shows what the base kept of a proposal only in its next call, and an
        answer's last round has none; counted then against the next prompt, it was always
        rejected, which halved the acceptance of a short answer (4 of 8 proposals where 6
        of 8 were kept)."""
        self._count_accepted(np.asarray(sequence))

    def _count_accepted(self, input_ids: np.ndarray) -> None:
        if self._last is None:
            return
        start, proposal = self._last
        self._last = None
        continuation = input_ids[start : start + len(proposal)]
        matched = 0
        for proposed, actual in zip(proposal, continuation, strict=False):
            if proposed != actual:
                break
            matched += 1
        self.accepted += matched

    @property
    def acceptance(self) -> float:
        """Share of proposed tokens the base kept."""
        return self.accepted / self.proposed if self.proposed else 0.0


class DraftProposer(CountingProposer):
    """Proposals from the draft GGUF in llama.cpp (it reuses its cached prefix)."""

    def __init__(self, draft: Any, k: int = 4, enabled: Callable[[], bool] = lambda: True) -> None:
        super().__init__(k, enabled)
        self.draft = draft
        """A llama_cpp.Llama over the draft GGUF (same vocabulary as the base)."""

    def propose(self, input_ids: list[int]) -> list[int]:
        """Greedy continuation by the draft model."""

        def greedy() -> list[int]:
            proposal: list[int] = []
            for token in self.draft.generate(input_ids, temp=0.0, repeat_penalty=1.0):
                proposal.append(int(token))
                if len(proposal) >= self.k:
                    break
            return proposal

        return on_llama_thread(greedy)
