"""The ATP ledger: a compute budget in CPU-seconds that refills over time.

Costs are measured, never invented: :class:`Meter` reads the process's CPU time around a
piece of work (llama.cpp and whisper run on their own native threads, so the process
total is the honest figure while one turn runs at a time) and, where the host exposes a
power sensor, the joules it used (Intel RAPL, NVIDIA NVML, Jetson INA3221).
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ledger:
    """A balance of CPU-seconds, its capacity and refill rate."""

    balance: float
    capacity: float
    refill_per_s: float
    updated_at: float
    """time.time() seconds of the last refill."""

    def refilled(self, now: float) -> Ledger:
        """Add what has refilled since ``updated_at``, up to the capacity (a balance above
        the capacity, after a switch to a smaller allowance, is cut down to it)."""
        elapsed = max(0.0, now - self.updated_at)
        balance = min(self.capacity, self.balance + elapsed * self.refill_per_s)
        return replace(self, balance=balance, updated_at=max(now, self.updated_at))

    def spent(self, cost_s: float, overdraft: bool = False) -> Ledger:
        """Take a measured cost off. Without ``overdraft`` (only CRISIS has it) the
        balance stops at zero: the work was done anyway, and the spend log shows it."""
        balance = self.balance - max(0.0, cost_s)
        return replace(self, balance=balance if overdraft else max(0.0, balance))

    def with_allowance(self, capacity: float, refill_per_s: float) -> Ledger:
        """The same balance under another state's allowance."""
        return replace(self, capacity=capacity, refill_per_s=refill_per_s,
                       balance=min(self.balance, capacity))  # fmt: skip


@dataclass(frozen=True)
class Cost:
    """What one piece of work used."""

    cpu_s: float
    joules: float | None = None
    """None where the host has no power sensor SAGE can read."""


def cpu_seconds() -> float:
    """CPU-seconds this process has used (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sum_of(root: str, pattern: str) -> float | None:
    """The sum of the numbers in the sysfs files matching ``pattern``; None if none reads."""
    values = []
    for path in Path(root).glob(pattern):
        try:
            values.append(float(path.read_text()))
        except (OSError, ValueError):
            continue
    return sum(values) if values else None


def _rapl_microjoules() -> float | None:
    """Intel RAPL: the packages' energy counters in µJ."""
    return _sum_of("/sys/class/powercap", "intel-rapl:*/energy_uj")


def _nvml_millijoules() -> float | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        return float(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle))
    except Exception:  # no NVML, no GPU, or no energy counter on this GPU
        return None


def _ina_milliwatts() -> float | None:
    """Jetson: the INA3221 rails' power in mW (an instantaneous reading)."""
    return _sum_of("/sys/bus/i2c/drivers/ina3221x", "*/iio:device*/in_power*_input")


class Meter:
    """Measures the CPU-seconds (and joules, where readable) of a piece of work."""

    def __init__(self) -> None:
        self._energy: Callable[[], float | None] | None = None
        self._scale = 1.0
        for reader, scale in ((_rapl_microjoules, 1e-6), (_nvml_millijoules, 1e-3)):
            if reader() is not None:
                self._energy, self._scale = reader, scale
                break
        self._power = _ina_milliwatts if self._energy is None and _ina_milliwatts() else None
        _LOGGER.debug("energy source: %s", self.source)

    @property
    def source(self) -> str:
        """Which sensor gives joules: rapl, nvml, ina3221 or none."""
        if self._energy is _rapl_microjoules:
            return "rapl"
        if self._energy is _nvml_millijoules:
            return "nvml"
        return "ina3221" if self._power is not None else "none"

    def start(self, cpu_s: float = 0.0) -> Callable[[], Cost]:
        """Begin measuring; call the returned function when the work is done. ``cpu_s``:
        CPU-seconds the same work already spent (measured elsewhere, on another thread)."""
        cpu0, wall0 = cpu_seconds() - cpu_s, time.monotonic()
        energy0 = self._energy() if self._energy is not None else None
        power0 = self._power() if self._power is not None else None

        def stop() -> Cost:
            joules = None
            if energy0 is not None and self._energy is not None:
                energy1 = self._energy()
                if energy1 is not None and energy1 >= energy0:  # counters wrap
                    joules = (energy1 - energy0) * self._scale
            elif power0 is not None and self._power is not None:
                power1 = self._power() or power0
                joules = (power0 + power1) / 2 / 1000 * (time.monotonic() - wall0)
            return Cost(cpu_s=max(0.0, cpu_seconds() - cpu0), joules=joules)

        return stop
