"""What this machine says about itself, read from the kernel when asked: how long it has
been up, free disk and memory, its temperature, its battery, its load and its network
address.

A language model can only invent these: asked on this machine, the base said "The CPU
temperature is 75 degrees Celsius." (there is no sensor), "This computer has been running
for approximately 5 years." and "The machine is using approximately 16GB of memory."
Everything here is read-only.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

_LOGGER = logging.getLogger(__name__)
PROC = Path("/proc")
THERMAL = Path("/sys/class/thermal")
POWER = Path("/sys/class/power_supply")
_CPU_ZONES = ("cpu", "x86_pkg", "soc", "core", "package")
"""Thermal zone types that are the processor's (x86_pkg_temp, CPU-therm on a Jetson)."""
_GB = 1e9


def uptime(proc: Path = PROC) -> str:
    """ "This machine has been up for 3 days, 4 hours and 4 minutes." """
    seconds = float((proc / "uptime").read_text().split()[0])
    return f"This machine has been up for {_duration(seconds)}."


def running(proc: Path = PROC) -> str:
    """How long SAGE's own process has been running ("how long have you been running":
    the base said "about 10 years")."""
    stat = (proc / "self" / "stat").read_text()
    started = int(stat.rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")  # field 22
    seconds = float((proc / "uptime").read_text().split()[0]) - started
    return f"I've been running for {_duration(seconds)}."


def disk(path: Path = Path("/")) -> str:
    """Free space on the file system that holds ``path`` (the root: the main disk)."""
    usage = shutil.disk_usage(path)
    # Full as df counts it: blocks reserved for root are neither used nor free to users.
    full = round(100 * usage.used / (usage.used + usage.free))
    return f"The main disk has {_size(usage.free)} free; it is {full} percent full."


def memory(proc: Path = PROC) -> str:
    """Memory in use and available, as the kernel counts it (MemAvailable, which includes
    caches it can drop)."""
    fields = {}
    for line in (proc / "meminfo").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = int(value.split()[0]) * 1024  # kB
    total, available = fields["MemTotal"], fields["MemAvailable"]
    return (
        f"This machine is using {_size(total - available)} of its {_size(total)} of memory; "
        f"{_size(available)} are free."
    )


def temperature(thermal: Path = THERMAL) -> str:
    """The processor's temperature from the first CPU thermal zone (else the hottest)."""
    readings: list[tuple[bool, float]] = []
    for zone in sorted(thermal.glob("thermal_zone*")):
        try:
            kind = (zone / "type").read_text().strip().lower()
            celsius = int((zone / "temp").read_text()) / 1000
        except (OSError, ValueError):
            continue  # a zone that is switched off reads as an error
        readings.append((kind.startswith(_CPU_ZONES), celsius))
    if not readings:
        return "This machine has no temperature sensor that I can read."
    cpu = [c for is_cpu, c in readings if is_cpu]
    celsius = cpu[0] if cpu else max(c for _, c in readings)
    return f"The processor is at {celsius:.0f} degrees Celsius."


def battery(power: Path = POWER) -> str:
    """The first battery's charge, and whether it is charging (the base said "I don't
    have a battery." as if it were the one asked)."""
    for supply in sorted(power.glob("*")):
        try:
            if (supply / "type").read_text().strip() != "Battery":
                continue
            percent = int((supply / "capacity").read_text())
            status = (supply / "status").read_text().strip().lower()
        except (OSError, ValueError):
            continue
        charging = ", and charging" if status == "charging" else ""
        return f"The battery is at {percent} percent{charging}."
    return "This machine has no battery that I can read: it runs on mains power."


def load() -> str:
    """The one-minute load average against the number of cores."""
    cores = os.cpu_count() or 1
    average = os.getloadavg()[0]
    if average < 0.5 * cores:
        verdict = "it's mostly idle"
    elif average <= cores:
        verdict = "it's busy"
    else:
        verdict = "more work is waiting than it has cores for"
    return f"The load over the last minute is {average:.1f} on {cores} cores: {verdict}."


def address() -> str:
    """This machine's address on its network, as its default route has it. Offline SAGE
    cannot see the household's public address, so it says which one this is."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a documentation address; UDP sends nothing
            ip = probe.getsockname()[0]
        except OSError:
            ip = ""
    if not ip or ip.startswith("127."):
        return "This machine isn't connected to a network."
    return f"This machine's address on the local network is {ip.replace('.', ' dot ')}."


FACTS: dict[str, Callable[[], str]] = {
    "uptime": uptime,
    "running": running,
    "disk": disk,
    "memory": memory,
    "temperature": temperature,
    "battery": battery,
    "load": load,
    "address": address,
}
"""Responder name (as rules name it) → the fact, read now."""


def read(name: str) -> str:
    """One fact, or a plain sentence when this machine does not have it (not Linux, a
    /proc without the file): logged, never raised into the turn."""
    try:
        return FACTS[name]()
    except (OSError, ValueError, KeyError, IndexError) as exc:
        _LOGGER.warning("machine fact %s unreadable: %s", name, exc)
        return "I can't read that on this machine."


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes == 0:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n} {unit}{'s' * (n != 1)}"
             for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]  # fmt: skip
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _size(n_bytes: float) -> str:
    """ "41.2 gigabytes", "3 gigabytes", "512 megabytes", "1.5 terabytes"."""
    units = (("terabytes", 1e12), ("gigabytes", _GB))
    unit, scale = next(((u, s) for u, s in units if n_bytes >= s), ("megabytes", 1e6))
    value = n_bytes / scale
    figure = f"{value:.1f}".removesuffix(".0") if value < 100 else f"{value:.0f}"
    return f"{figure} {unit}"
