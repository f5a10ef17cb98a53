"""The ``grace`` command's files and terminal output: encode, decode, show, list.

Writes are all or nothing (a file-size limit leaves the old file), the
command never overwrites its own input, never writes JPEG bytes under
another format's name unless forced, names a missing folder; text read
from files reaches the terminal escaped.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import pillow_grace
from pillow_grace import Strategy, cli

ROOT = Path(pillow_grace.__file__).resolve().parent.parent
OLD = b"the old content, which must survive a failed write\n" * 40
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file semantics")


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), "RGB").save(path)
    return path


@pytest.fixture
def grace_jpg(tmp_path: Path, png: Path) -> Path:
    path = tmp_path / "in.jpg"
    assert cli.main(["encode", str(png), str(path), "--strategy", "efficientnet-lite0"]) == 0
    return path


def _fails(args: list[str], capsys: pytest.CaptureFixture[str], match: str) -> str:
    assert cli.main(args) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert match in err, err
    return err


# -- refusals -----------------------------------------------------------------------------------
def test_decode_refuses_to_overwrite_its_input(grace_jpg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = grace_jpg.read_bytes()
    _fails(["decode", str(grace_jpg), str(grace_jpg)], capsys, "is the input file")
    link = grace_jpg.with_name("alias.jpg")
    link.symlink_to(grace_jpg.name)
    _fails(["decode", str(grace_jpg), str(link)], capsys, "is the input file")
    assert grace_jpg.read_bytes() == before


def test_encode_refuses_to_overwrite_its_input(grace_jpg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = grace_jpg.read_bytes()
    args = ["encode", str(grace_jpg), str(grace_jpg), "--strategy", "efficientnet-lite0", "--quality", "20"]
    _fails(args, capsys, "is the input file")
    assert grace_jpg.read_bytes() == before


def test_encode_refuses_jpeg_bytes_under_another_format_unless_forced(
    png: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.png"
    args = ["encode", str(png), str(out), "--strategy", "efficientnet-lite0"]
    _fails(args, capsys, "--force")
    assert not out.exists()
    assert cli.main([*args, "--force"]) == 0
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    for name in ("out.JPG", "out.jpeg", "out.jpe", "out.jfif"):  # every name Pillow gives JPEG
        assert cli.main(["encode", str(png), str(tmp_path / name), "--strategy", "efficientnet-lite0"]) == 0


@pytest.mark.parametrize(("name", "message"), [("out.psd", "Pillow cannot write PSD"),
                                               ("out", "cannot tell an image format")])
def test_decode_refuses_a_name_it_cannot_write(
    grace_jpg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    _fails(["decode", str(grace_jpg), str(tmp_path / name)], capsys, message)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_a_missing_output_folder_is_named(
    command: str, grace_jpg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nonexistent" / "dir" / ("o.jpg" if command == "encode" else "o.png")
    extra = ["--strategy", "efficientnet-lite0"] if command == "encode" else []
    err = _fails([command, str(grace_jpg), str(out), *extra], capsys, repr(str(tmp_path / "nonexistent")))
    assert ".tmp" not in err


@posix_only
def test_encode_refuses_a_fifo_and_writes_to_stdout_instead(
    png: Path, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a writer that opens it must not hang the test
    try:
        assert cli.main(["encode", str(png), str(fifo), "--strategy", "efficientnet-lite0"]) == cli.EXIT_ERROR
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert b"'-' for standard output" in capfdbinary.readouterr().err
    assert cli.main(["encode", str(png), "-", "--strategy", "efficientnet-lite0"]) == 0
    data = capfdbinary.readouterr().out
    assert data[:3] == b"\xff\xd8\xff" and data.endswith(b"\xff\xd9")


@posix_only
@pytest.mark.parametrize("command", ["encode", "decode"])
def test_a_file_size_limit_fails_the_command_and_keeps_the_old_file(
    command: str, grace_jpg: Path, tmp_path: Path
) -> None:
    """``grace encode`` used to print "wrote out.jpg" and exit 0 over a truncated file."""
    out = tmp_path / ("out.jpg" if command == "encode" else "out.bmp")  # BMP: uncompressed, over the limit
    out.write_bytes(OLD)
    big = tmp_path / "big.png"
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8), "RGB").save(big)
    source = big if command == "encode" else grace_jpg
    extra = ', "--strategy", "efficientnet-lite0"' if command == "encode" else ""
    script = (
        "import resource, signal, sys\n"
        "from pillow_grace import cli\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        f"sys.exit(cli.main([{command!r}, {str(source)!r}, {str(out)!r}{extra}]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == cli.EXIT_ERROR, (done.stdout, done.stderr)
    assert "wrote" not in done.stdout
    assert out.read_bytes() == OLD


# -- terminal safety ------------------------------------------------------------------------
HOSTILE = "clear\x1b[2J title\x1b]0;pwned\x07 back\r over\x9b1m rtl\u202e lone\udc80 end"


def test_show_escapes_control_characters(
    tmp_path: Path, make_strategy: object, capsys: pytest.CaptureFixture[str]
) -> None:
    make: Any = make_strategy
    s: Strategy = make("hostile", description=HOSTILE, provenance={"note": HOSTILE})
    path = tmp_path / "hostile.json"
    s.save(path)
    assert Strategy.load(path).description == HOSTILE  # a lone surrogate loads
    assert cli.main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    for raw in ("\x1b", "\x07", "\r", "\x9b", "\u202e", "\udc80"):
        assert raw not in out
    for shown in ("\\x1b[2J", "\\x07", "\\r", "\\x9b", "\\u202e", "\\udc80"):
        assert shown in out
    assert "\n" in out.strip()  # the description's layout is kept


@posix_only
def test_list_escapes_odd_file_names(
    isolated_registry: Path, make_strategy: object, capsys: pytest.CaptureFixture[str]
) -> None:
    s: Strategy = make_strategy("plain")  # type: ignore[operator]
    s.save(isolated_registry / "plain.json")
    odd = os.fsencode(isolated_registry) + b"/evil\x1b]0;pwned\x07\nname\xff.json"
    with open(odd, "wb") as f:
        f.write(s.to_json().encode())
    # the odd file's name field ("plain") differs from its file name: listed as broken, status 1
    assert cli.main(["list"]) == cli.EXIT_ERROR
    out, err = capsys.readouterr()
    for text in (out, err):
        assert "\x1b" not in text and "\x07" not in text
        assert "evil\\x1b]0;pwned\\x07\\nname\\udcff" in text
    assert all(line.startswith(("plain", "evil", "efficientnet", "dbnet", "blazeface", "selfie", "yolo"))
               for line in out.splitlines()), out
