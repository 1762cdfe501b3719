"""`make neonize-check`: the bundled Go core must be the pinned one, or the check fails naming it."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "check_neonize.py"


def run(env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=120)


def test_the_installed_neonize_matches_its_pin():
    result = run()
    assert result.returncode == 0, result.stderr
    assert "match the pin" in result.stdout


def test_a_different_core_fails_the_check_and_says_what_differs(tmp_path):
    lock = (REPO_ROOT / "whatsapp_bridge" / "neonize.lock").read_text()
    tampered = tmp_path / "neonize.lock"
    tampered.write_text(
        "\n".join(
            "linux-amd64-sha256=" + "0" * 64 if line.startswith("linux-amd64-sha256=") else line
            for line in lock.splitlines()
        )
    )
    result = run({"NEONIZE_LOCK": str(tampered)})
    assert result.returncode == 1
    assert "neonize-linux-amd64.so sha256 is" in result.stderr and "0" * 64 in result.stderr
