"""Every write path completes and says so, or raises and leaves the target untouched.

Faults are injected for real: a file-size limit (RLIMIT_FSIZE, with SIGXFSZ
ignored so that the write fails with EFBIG instead of killing the process)
in a subprocess, file objects that take fewer bytes than offered, a
read-only folder, symlinks, a 0600 file, a FIFO and a device node. The
library's writers are ``pillow_grace.encode`` to a path and to a file
object, ``Image.save(path, "GRACE")``, ``Strategy.save`` and
``grace_opencv.imwrite``; the ``grace`` command's are in
``tests/adapters/test_cli_files.py``.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import pillow_grace
from pillow_grace import Strategy, WriteTargetError

ROOT = Path(pillow_grace.__file__).resolve().parent.parent
OLD = b"the old content, which must survive a failed write\n" * 40
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file semantics")


def noise(size: int = 160) -> Image.Image:
    """Incompressible content: its JPEG is far larger than the limits used below."""
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), "RGB")


def _decodes(path: Path) -> bool:
    with Image.open(path) as im:
        im.load()
    return True


# -- a file-size limit, in a subprocess -------------------------------------------------------
_LIMITED = """
import resource, signal, sys
import numpy as np
from PIL import Image
import pillow_grace
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
target = sys.argv[1]
rng = np.random.default_rng(7)
im = Image.fromarray(rng.integers(0, 256, (400, 400, 3), dtype=np.uint8), "RGB")
strategy = pillow_grace.load_strategy("efficientnet-lite0")
resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
try:
{call}
except OSError as e:
    print("raised", type(e).__name__, e.errno)
else:
    print("returned")
"""

WRITERS = {
    "encode": "pillow_grace.encode(im, target, strategy)",
    "Image.save": "im.save(target, 'GRACE', strategy=strategy)",
    "Strategy.save": "strategy.with_tables(strategy.tables).save(target)",
    "imwrite": "import grace_opencv\n"
               "grace_opencv.imwrite(target, np.asarray(im)[:, :, ::-1], strategy=strategy)",
}


def _run_limited(call: str, target: Path) -> str:
    script = _LIMITED.format(call=textwrap.indent(call, "    "))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@posix_only
@pytest.mark.parametrize("writer", ["encode", "Strategy.save", "imwrite"])
def test_a_file_size_limit_fails_the_write_and_keeps_the_old_file(tmp_path: Path, writer: str) -> None:
    if writer == "imwrite":
        pytest.importorskip("cv2")
    target = tmp_path / ("out.json" if writer == "Strategy.save" else "out.jpg")
    if writer == "Strategy.save":  # a strategy file must be over the limit too
        assert len(pillow_grace.load_strategy("efficientnet-lite0").to_json()) > 8192
    target.write_bytes(OLD)
    outcome = _run_limited(WRITERS[writer], target)
    assert outcome.startswith("raised"), outcome
    assert target.read_bytes() == OLD
    assert os.listdir(tmp_path) == [target.name]  # no temp file left


@posix_only
def test_pillow_save_to_a_path_fails_under_a_file_size_limit(tmp_path: Path) -> None:
    """Pillow truncates the file before the plugin runs, so its old content
    cannot be kept; the save must at least raise rather than leave a
    truncated JPEG behind as if it had succeeded."""
    target = tmp_path / "out.jpg"
    target.write_bytes(OLD)
    outcome = _run_limited(WRITERS["Image.save"], target)
    assert outcome.startswith("raised"), outcome


# -- file objects ---------------------------------------------------------------------------
class Trickle(io.RawIOBase):
    """A raw file that takes at most ``per_call`` bytes a call and ``capacity`` in all."""

    def __init__(self, per_call: int, capacity: int | None = None) -> None:
        self.data = bytearray()
        self.per_call, self.capacity = per_call, capacity

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        room = len(b) if self.capacity is None else max(0, self.capacity - len(self.data))
        n = min(len(b), self.per_call, room)
        self.data += bytes(b[:n])
        return n


def test_short_writes_to_a_file_object_are_completed(strategy: Strategy) -> None:
    """A raw file may take fewer bytes than offered: the rest is offered again."""
    fp = Trickle(per_call=1000)
    pillow_grace.encode(noise(), fp, strategy)
    whole = io.BytesIO()
    pillow_grace.encode(noise(), whole, strategy)
    assert bytes(fp.data) == whole.getvalue()


def test_a_full_file_object_fails_the_encode(strategy: Strategy) -> None:
    fp = Trickle(per_call=1 << 20, capacity=4096)
    with pytest.raises(OSError, match="accepted no more bytes"):
        pillow_grace.encode(noise(), fp, strategy)


def test_a_file_object_that_raises_fails_the_encode(strategy: Strategy) -> None:
    class Failing(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        pillow_grace.encode(noise(), Failing(), strategy)


# -- what the path is -------------------------------------------------------------------------
@posix_only
def test_a_symlink_stays_a_symlink_and_its_target_is_replaced(tmp_path: Path, strategy: Strategy) -> None:
    real = tmp_path / "real.jpg"
    real.write_bytes(OLD)
    link = tmp_path / "link.jpg"
    link.symlink_to("real.jpg")
    pillow_grace.encode(noise(64), link, strategy)
    assert link.is_symlink() and os.readlink(link) == "real.jpg"
    assert real.read_bytes()[:2] == b"\xff\xd8" and _decodes(real)
    chained = tmp_path / "chain.json"
    chained.symlink_to("link.jpg")  # a link to a link: the last target is written
    strategy.save(chained)
    assert chained.is_symlink() and link.is_symlink()
    assert Strategy.load(real) == strategy


@posix_only
def test_a_dangling_symlink_creates_its_target(tmp_path: Path, strategy: Strategy) -> None:
    link = tmp_path / "link.jpg"
    link.symlink_to("made.jpg")
    pillow_grace.encode(noise(32), link, strategy)
    assert link.is_symlink() and _decodes(tmp_path / "made.jpg")


@posix_only
@pytest.mark.parametrize("writer", ["encode", "Strategy.save", "imwrite"])
def test_an_existing_files_mode_is_kept(tmp_path: Path, strategy: Strategy, writer: str) -> None:
    target = tmp_path / ("s.json" if writer == "Strategy.save" else "out.jpg")
    target.write_bytes(OLD)
    target.chmod(0o600)
    _write(writer, target, strategy)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes() != OLD


@posix_only
@pytest.mark.parametrize("writer", ["encode", "Strategy.save", "imwrite"])
def test_a_new_file_gets_the_umasks_mode(tmp_path: Path, strategy: Strategy, writer: str) -> None:
    """Not mkstemp's 0600: others on a shared GRACE_STRATEGY_PATH must read it."""
    target = tmp_path / ("s.json" if writer == "Strategy.save" else "out.jpg")
    old = os.umask(0o022)
    try:
        _write(writer, target, strategy)
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def _write(writer: str, target: Path, strategy: Strategy) -> None:
    if writer == "encode":
        pillow_grace.encode(noise(32), target, strategy)
    elif writer == "Strategy.save":
        strategy.save(target)
    else:
        gcv = pytest.importorskip("grace_opencv")
        assert gcv.imwrite(str(target), np.zeros((16, 16, 3), np.uint8), strategy=strategy)


@posix_only
@pytest.mark.parametrize("writer", ["encode", "Strategy.save", "imwrite"])
def test_a_fifo_is_refused_not_replaced(tmp_path: Path, strategy: Strategy, writer: str) -> None:
    fifo = tmp_path / ("pipe.json" if writer == "Strategy.save" else "pipe.jpg")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a writer that opens it must not hang the test
    try:
        with pytest.raises(WriteTargetError, match=r"not a regular file \(a FIFO\)"):
            _write(writer, fifo, strategy)
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@posix_only
def test_a_device_node_is_refused_and_a_file_object_writes_into_it(
    tmp_path: Path, strategy: Strategy
) -> None:
    """As root, ``encode(im, "/dev/null", S)`` must not replace the system's node."""
    if not IS_ROOT:
        pytest.skip("creating a device node needs root")
    node = tmp_path / "mynull"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("no permission to create device nodes here (container without CAP_MKNOD)")
    with pytest.raises(WriteTargetError, match="character device"):
        pillow_grace.encode(noise(32), node, strategy)
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    with open(node, "wb") as f:  # writing in place is what this caller asks for
        pillow_grace.encode(noise(32), f, strategy)
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_a_folder_as_target_is_refused(tmp_path: Path, strategy: Strategy) -> None:
    with pytest.raises(IsADirectoryError, match="give a file name"):
        pillow_grace.encode(noise(16), tmp_path, strategy)


@pytest.mark.parametrize("writer", ["encode", "Strategy.save", "imwrite"])
def test_a_missing_folder_is_named(tmp_path: Path, strategy: Strategy, writer: str) -> None:
    target = tmp_path / "no" / "such" / "out.jpg"
    with pytest.raises(FileNotFoundError) as caught:
        _write(writer, target, strategy)
    message = str(caught.value)
    assert repr(str(tmp_path / "no")) in message and ".tmp" not in message


@posix_only
@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders")
def test_a_read_only_folder_is_named_and_the_file_kept(tmp_path: Path, strategy: Strategy) -> None:
    target = tmp_path / "out.jpg"
    target.write_bytes(OLD)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(PermissionError) as caught:
            pillow_grace.encode(noise(16), target, strategy)
    finally:
        tmp_path.chmod(0o755)
    assert repr(str(tmp_path)) in str(caught.value) and ".tmp" not in str(caught.value)
    assert target.read_bytes() == OLD and os.listdir(tmp_path) == ["out.jpg"]


def test_file_like_objects_that_return_no_count_are_trusted(strategy: Strategy) -> None:
    """As Pillow does: a ``write`` returning None (or True) has written everything."""

    class Sink:
        def __init__(self, returns: Any) -> None:
            self.data, self.returns = bytearray(), returns

        def write(self, b: Any) -> Any:
            self.data += bytes(b)
            return self.returns

    whole = io.BytesIO()
    pillow_grace.encode(noise(32), whole, strategy)
    for returns in (None, True):
        sink = Sink(returns)
        pillow_grace.encode(noise(32), sink, strategy)  # type: ignore[arg-type]
        assert bytes(sink.data) == whole.getvalue()
