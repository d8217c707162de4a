"""How often a tier hands its answer over, per request domain, and whether trying it pays.

A draft answer that comes out unsure is not spoken: the base answers after it, and the
turn waits for both. On the reference CPU that cost 300-660 ms of first audio on each of
the twelve escalated questions of ``tools/bench_cascade.py`` (all six home questions
among them). With ``share`` the tier's time to its first sentence as a share of the next
tier's on the same request, trying the tier first pays while

    share + P(hand over) < 1.

The share is measured on the requests it handed over (both tiers answered those), and
hand-overs are counted per (tier, domain) over the last tries. A tier that does not pay
sits the request out; one request in ``RETRY_EVERY`` it is tried again (a DREAM-promoted
draft may know the answers now). The figures live in memory: a restart starts afresh.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

WINDOW = 8
"""Tries remembered per (tier, domain)."""
PRIOR_HANDOVERS, PRIOR_TRIES = 1.0, 4.0
"""The rate's prior: one hand-over in four tries, weighing as much as four real tries."""
RETRY_EVERY = 8
"""A tier passed over is still tried on one request of the domain in this many."""
SMOOTHING = 0.2
"""Weight of the newest measurement in a tier's running share."""


def pays(share: float, handover_rate: float) -> bool:
    """Whether trying a tier before the next one takes less time, on average, than the
    next one alone (``share``: the tier's time as a share of the next one's)."""
    return share + handover_rate < 1.0


@dataclass
class HandOvers:
    """Each tier's last tries per domain (True: handed over) and its share of the next
    tier's time to a first sentence."""

    tries: dict[tuple[str, str], deque[bool]] = field(default_factory=dict)
    shares: dict[str, float] = field(default_factory=dict)
    sat_out: dict[tuple[str, str], int] = field(default_factory=dict)

    def rate(self, tier: str, domain: str) -> float:
        """Smoothed share of hand-overs (the prior's when nothing was tried)."""
        tries = self.tries.get((tier, domain), ())
        return (sum(tries) + PRIOR_HANDOVERS) / (len(tries) + PRIOR_TRIES)

    def record(self, tier: str, domain: str, handed_over: bool) -> None:
        """One try of ``tier`` on a request of ``domain``."""
        self.tries.setdefault((tier, domain), deque(maxlen=WINDOW)).append(handed_over)

    def compared(self, tier: str, ms: float, next_ms: float) -> None:
        """On one request, ``tier`` took ``ms`` to its first sentence and the tier it
        handed over to ``next_ms``."""
        share = ms / next_ms
        known = self.shares.get(tier)
        self.shares[tier] = share if known is None else known + SMOOTHING * (share - known)

    def unpaying(self, tiers: Sequence[str], domain: str) -> set[str]:
        """The tiers (each but the last, in cost order) whose try does not pay for a
        request of ``domain``; none before a hand-over was timed."""
        return {
            tier
            for tier in tiers[:-1]
            if tier in self.shares and not pays(self.shares[tier], self.rate(tier, domain))
        }

    def passed_over(self, tiers: Sequence[str]) -> dict[str, list[str]]:
        """Per tier, the domains of the requests it is passed over for now."""
        found: dict[str, list[str]] = {}
        for domain in sorted({domain for _, domain in self.tries}):
            for tier in sorted(self.unpaying(tiers, domain)):
                found.setdefault(tier, []).append(domain)
        return found

    def sits_out(self, tier: str, domain: str) -> bool:
        """Whether ``tier``, passed over, sits this request out (False one in RETRY_EVERY)."""
        key = (tier, domain)
        self.sat_out[key] = (self.sat_out.get(key, 0) + 1) % RETRY_EVERY
        return self.sat_out[key] != 0
