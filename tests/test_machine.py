"""Facts the machine reads about itself: each from the kernel's own files, said plainly."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from sage.patterns import machine


def _zone(root: Path, n: int, kind: str, millidegrees: str) -> None:
    zone = root / f"thermal_zone{n}"
    zone.mkdir(parents=True)
    (zone / "type").write_text(kind + "\n")
    (zone / "temp").write_text(millidegrees + "\n")


def test_uptime_from_proc(tmp_path: Path) -> None:
    (tmp_path / "uptime").write_text("273845.12 500000.00\n")
    assert machine.uptime(tmp_path) == "This machine has been up for 3 days, 4 hours and 4 minutes."
    (tmp_path / "uptime").write_text("3600.5 1.0\n")
    assert machine.uptime(tmp_path) == "This machine has been up for 1 hour."
    (tmp_path / "uptime").write_text("12.0 1.0\n")
    assert machine.uptime(tmp_path).endswith("up for less than a minute.")


def test_uptime_of_this_machine() -> None:
    seconds = float(Path("/proc/uptime").read_text().split()[0])
    reply = machine.uptime()
    if seconds >= 24 * 3600:
        assert f"{int(seconds // 86400)} day" in reply
    assert reply.startswith("This machine has been up for ")


def test_how_long_sage_has_been_running(tmp_path: Path) -> None:
    """From the process's start (in clock ticks after boot) and the machine's uptime."""
    (tmp_path / "self").mkdir()
    ticks = os.sysconf("SC_CLK_TCK")
    fields = ["S"] + ["0"] * 18 + [str(1000 * ticks)] + ["0"] * 10  # field 22: starttime
    (tmp_path / "self" / "stat").write_text("4242 (sage (daemon)) " + " ".join(fields) + "\n")
    (tmp_path / "uptime").write_text("8200.0 1.0\n")  # up 8200 s, started at 1000 s
    assert machine.running(tmp_path) == "I've been running for 2 hours."
    assert machine.running().startswith("I've been running for ")  # this process


def test_memory_from_meminfo(tmp_path: Path) -> None:
    (tmp_path / "meminfo").write_text(
        "MemTotal:       24000000 kB\nMemFree:         1000000 kB\n"
        "MemAvailable:   20900000 kB\nBuffers:           1000 kB\n"
    )
    assert machine.memory(tmp_path) == (
        "This machine is using 3.2 gigabytes of its 24.6 gigabytes of memory; "
        "21.4 gigabytes are free."
    )


def test_disk_says_what_df_says() -> None:
    usage = shutil.disk_usage("/")
    full = round(100 * usage.used / (usage.used + usage.free))
    reply = machine.disk()
    assert f"it is {full} percent full" in reply
    free = float(re.search(r"has ([\d.]+) (\w+) free", reply)[1])
    unit = {"megabytes": 1e6, "gigabytes": 1e9, "terabytes": 1e12}[
        re.search(r" (\w+) free", reply)[1]
    ]
    assert abs(free * unit - usage.free) <= 0.06 * usage.free + 1e6


def test_temperature_prefers_the_processor_zone(tmp_path: Path) -> None:
    _zone(tmp_path, 0, "acpitz", "67000")
    _zone(tmp_path, 1, "x86_pkg_temp", "52500")
    assert machine.temperature(tmp_path) == "The processor is at 52 degrees Celsius."


def test_temperature_without_a_processor_zone_says_the_hottest(tmp_path: Path) -> None:
    _zone(tmp_path, 0, "acpitz", "41000")
    _zone(tmp_path, 1, "iwlwifi_1", "58000")
    _zone(tmp_path, 2, "broken", "not a number")
    assert machine.temperature(tmp_path) == "The processor is at 58 degrees Celsius."


def test_no_sensor_is_said_not_invented(tmp_path: Path) -> None:
    assert (
        machine.temperature(tmp_path) == "This machine has no temperature sensor that I can read."
    )


def _supply(root: Path, name: str, kind: str, **files: str) -> None:
    supply = root / name
    supply.mkdir(parents=True)
    (supply / "type").write_text(kind + "\n")
    for file, text in files.items():
        (supply / file).write_text(text + "\n")


def test_battery_from_the_power_supply_class(tmp_path: Path) -> None:
    _supply(tmp_path, "AC", "Mains", online="1")
    _supply(tmp_path, "BAT0", "Battery", capacity="73", status="Charging")
    assert machine.battery(tmp_path) == "The battery is at 73 percent, and charging."
    (tmp_path / "BAT0" / "status").write_text("Discharging\n")
    assert machine.battery(tmp_path) == "The battery is at 73 percent."


def test_no_battery_is_said_not_invented(tmp_path: Path) -> None:
    _supply(tmp_path, "AC", "Mains", online="1")
    assert machine.battery(tmp_path) == (
        "This machine has no battery that I can read: it runs on mains power."
    )


def test_load_against_the_cores() -> None:
    reply = machine.load()
    assert f"on {os.cpu_count()} cores" in reply
    figure = float(re.search(r"is ([\d.]+) on", reply)[1])
    assert abs(figure - os.getloadavg()[0]) < 1.0


def test_address_is_spoken_or_absent() -> None:
    reply = machine.address()
    assert re.fullmatch(
        r"This machine's address on the local network is \d+( dot \d+){3}\.|"
        r"This machine isn't connected to a network\.",
        reply,
    )


def test_an_unreadable_fact_is_a_sentence_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> str:
        raise FileNotFoundError("/proc/uptime")

    monkeypatch.setitem(machine.FACTS, "uptime", missing)
    assert machine.read("uptime") == "I can't read that on this machine."
