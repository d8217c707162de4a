"""The shipped unit passes systemd-analyze (verify prints nothing, exposure ≤ 2.0) in each
device variant; the install writes what it says; the generated policy parses and allows
exactly the allowlist."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sage.cli import main
from sage.config import DEFAULT_UNITS, UnitConfig
from sage.services.install import Layout, polkit_rule, sudoers

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def installed(tmp_path: Path, device: str) -> Layout:
    assert main(["service", "install", "--root", str(tmp_path), "--device", device]) == 0
    return Layout(tmp_path)


def analyze(layout: Layout, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SYSTEMD_UNIT_PATH=f"{layout.unit.parent}:")
    return subprocess.run([ANALYZE, *args, "sage.service"], env=env,  # type: ignore[list-item]
                          capture_output=True, text=True, check=False)  # fmt: skip


@needs_analyze
@pytest.mark.parametrize("device", ["cpu", "rtx", "jetson"])
def test_unit_verifies_silently_and_is_hardened(tmp_path: Path, device: str) -> None:
    layout = installed(tmp_path, device)
    verify = analyze(layout, "verify")
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")
    security = analyze(layout, "security", "--offline=true")
    exposure = float(re.search(r"exposure level for sage.service: ([\d.]+)", security.stdout)[1])  # type: ignore[index]
    assert exposure <= 2.0, security.stdout
    if device != "cpu":
        assert "char-nvidia" in security.stdout or "/dev/nvmap" in layout.dropin.read_text()


def test_unit_has_the_required_settings(tmp_path: Path) -> None:
    text = installed(tmp_path, "cpu").unit.read_text()
    for line in ["Type=notify", "NotifyAccess=main", "WatchdogSec=", "Restart=on-failure",
                 "TimeoutStartSec=", "TimeoutStopSec=", "StateDirectory=sage",
                 "CacheDirectory=sage", "RuntimeDirectory=sage", "ProtectSystem=strict",
                 "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
                 "SystemCallFilter=@system-service", "RestrictAddressFamilies="]:  # fmt: skip
        assert line in text, line
    assert "PrivateDevices=yes" not in text and "MemoryDenyWriteExecute=yes" not in text
    assert "@EXEC@" not in text and "@CHECKOUT@" not in text


def test_install_and_uninstall_under_a_root(tmp_path: Path) -> None:
    layout = installed(tmp_path, "rtx")
    assert layout.config.exists() and layout.dropin.exists() and layout.polkit.exists()
    assert main(["service", "uninstall", "--root", str(tmp_path)]) == 0
    assert not layout.unit.exists() and not layout.dropin.exists() and not layout.polkit.exists()
    assert layout.config.exists()  # the user's config stays unless --purge
    assert main(["service", "uninstall", "--root", str(tmp_path), "--purge"]) == 0
    assert not layout.config.exists()


def test_service_config_is_valid_and_carries_the_example_allowlist(tmp_path: Path) -> None:
    from sage.config import load_config

    config = load_config(installed(tmp_path, "cpu").config)
    assert config.services.units == DEFAULT_UNITS
    assert str(config.paths.state_dir) == "/var/lib/sage"


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed to evaluate the polkit rule")
def test_polkit_rule_allows_exactly_the_allowlist(tmp_path: Path) -> None:
    rule = tmp_path / "50-sage.rules"
    rule.write_text(polkit_rule(DEFAULT_UNITS))
    cases = [(unit.name, verb, user) for unit in (*DEFAULT_UNITS, UnitConfig("cups.service"))
             for verb in ("start", "stop", "restart", "reload", "enable")
             for user in ("sage", "mallory")]  # fmt: skip
    script = f"""
        const fs = require("fs");
        let rule;
        const polkit = {{Result: {{YES: "yes", NO: "no", NOT_HANDLED: "not handled"}},
                        addRule: (f) => {{ rule = f; }}}};
        eval(fs.readFileSync({json.dumps(str(rule))}, "utf8"));
        const cases = {json.dumps(cases)};
        console.log(JSON.stringify(cases.map(([unit, verb, user]) => rule(
            {{id: "org.freedesktop.systemd1.manage-units",
              lookup: (key) => ({{unit: unit, verb: verb}})[key]}}, {{user: user}}))));
    """
    result = json.loads(subprocess.run([NODE, "-e", script], capture_output=True, text=True,  # type: ignore[list-item]
                                       check=True).stdout)  # fmt: skip
    allowed = {(u.name, v) for u in DEFAULT_UNITS for v in u.verbs}
    for (unit, verb, user), decision in zip(cases, result, strict=True):
        expected = "yes" if user == "sage" and (unit, verb) in allowed else "not handled"
        assert decision == expected, (unit, verb, user)


@pytest.mark.skipif(shutil.which("visudo") is None, reason="visudo (sudo) is not installed")
def test_sudoers_fallback_parses_and_names_exact_commands(tmp_path: Path) -> None:
    path = tmp_path / "sage"
    path.write_text(sudoers(DEFAULT_UNITS, "/usr/bin/systemctl"))
    path.chmod(0o440)
    check = subprocess.run(["visudo", "-c", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    text = path.read_text()
    assert "/usr/bin/systemctl --no-ask-password restart -- nginx.service" in text
    assert "ssh.service" not in text  # status needs no privilege
