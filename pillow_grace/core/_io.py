"""Writing files so that a write either completes or leaves the path as it was.

Every writer of the library (the encoder given a path, ``Strategy.save``,
``grace_opencv.imwrite``, the ``grace`` command) ends here, so the rules
live in one place:

* the bytes are produced first, in memory; every one of them must reach the
  file (a short write, a full disk or a file-size limit raises: Pillow's own
  ``encode_to_file`` ignores short writes);
* a path is written to a temporary file in the same folder, flushed and
  fsynced, then renamed over the target: a reader (or a crash) never sees
  half a file, and a failure leaves the old file untouched;
* the new file keeps what the path was: the old file's permission bits (a
  new file gets the umask's, as ``open(path, "w")`` would), and a symlink
  stays a symlink (its target is replaced);
* a target that is not a regular file (a device node, FIFO, socket,
  directory) is refused rather than replaced by a regular file: writing into
  such a thing in place is for a caller who opens it and passes the file
  object;
* a folder that does not exist is named in the error, not the temporary file.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import stat
from contextlib import suppress
from typing import IO

from pillow_grace.core.errors import WriteTargetError

#: What the writers accept: anything with the buffer protocol of bytes.
BytesLike = bytes | bytearray | memoryview

#: How a caller of the library writes into a device or FIFO deliberately.
IN_PLACE_HINT = "to write into it in place, open it yourself and pass the file object"


def write_all(fp: IO[bytes], data: BytesLike) -> None:
    """Write every byte of ``data`` to the file object ``fp`` and flush it, or raise.

    A raw file's ``write`` may take fewer bytes than offered; the rest is
    offered again, and a write that takes nothing raises. ``None`` from a raw
    (``io.RawIOBase``) file means it would block, which is an error here;
    other file-like objects that return ``None`` (or anything but a count)
    are taken to have written everything, as Pillow takes them."""
    view = memoryview(data).cast("B")
    chunk: BytesLike = data
    while view.nbytes:
        n = fp.write(chunk)  # type: ignore[arg-type]
        if n is None and isinstance(fp, io.RawIOBase):
            raise BlockingIOError(errno.EAGAIN, "the file accepted no bytes (non-blocking file?)")
        if not isinstance(n, int) or isinstance(n, bool):
            break
        if n <= 0:
            raise OSError(errno.EIO, f"the file accepted no more bytes ({view.nbytes} left to write)")
        view = view[n:]
        chunk = view
    flush = getattr(fp, "flush", None)
    if flush is not None:
        flush()


def replace_file(
    path: str | os.PathLike[str], data: BytesLike, *, in_place_hint: str = IN_PLACE_HINT
) -> None:
    """Make ``path`` hold exactly ``data``, or raise and leave it untouched.

    See the module doc for the rules. ``in_place_hint`` ends the refusal of a
    target that is not a regular file: what this caller can do instead.
    A hard-linked target is replaced for this name only (its other names keep
    the old content), as with any write-and-rename."""
    target, old = _target(path, in_place_hint)
    folder, name = os.path.split(target)
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        # 0o666 honours the umask, as open(path, "w") would (mkstemp would give 0600).
        fd = os.open(tmp, flags, 0o666)
    except OSError as e:
        raise type(e)(e.errno, f"cannot create a file in folder {folder!r} ({e.strerror})", os.fspath(path)) \
            from None
    try:
        try:
            if old is not None:
                _keep_owner_and_mode(fd, tmp, old)
            _write_fd(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(folder)


def _target(path: str | os.PathLike[str], in_place_hint: str) -> tuple[str, os.stat_result | None]:
    """The file a write to ``path`` replaces (symlinks followed) and its status
    (None if it does not exist yet); refuses what must not be replaced."""
    given = os.fspath(path)
    target = os.path.realpath(os.path.abspath(given))
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        st = None  # a file where a folder should be: named below
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder; give a file name to write", given)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise WriteTargetError(
            f"refusing to write {given!r}: it is not a regular file ({_kind(st.st_mode)}), and writing "
            f"a new file and renaming it into place would replace it; {in_place_hint}"
        )
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        missing = folder
        while not os.path.exists(os.path.dirname(missing)) and os.path.dirname(missing) != missing:
            missing = os.path.dirname(missing)
        what = "is not a folder" if os.path.exists(missing) else "does not exist"
        raise FileNotFoundError(errno.ENOENT, f"folder {missing!r} {what}", given)
    return target, st


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def _keep_owner_and_mode(fd: int, tmp: str, old: os.stat_result) -> None:
    """Give the new file the old one's owner (where allowed) and permission bits."""
    if hasattr(os, "fchown") and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
        with suppress(PermissionError):  # only root may give a file away; the mode is kept anyway
            os.fchown(fd, old.st_uid, old.st_gid)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(old.st_mode))
    else:  # pragma: no cover - Windows
        os.chmod(tmp, stat.S_IMODE(old.st_mode))


def _write_fd(fd: int, data: BytesLike) -> None:
    view = memoryview(data).cast("B")
    while view.nbytes:
        n = os.write(fd, view)
        if n <= 0:  # pragma: no cover - os.write raises rather than return 0 for a regular file
            raise OSError(errno.ENOSPC, f"the file accepted no more bytes ({view.nbytes} left to write)")
        view = view[n:]


def _sync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); best effort where folders cannot be opened."""
    if os.name != "posix":  # pragma: no cover
        return
    with suppress(OSError):
        dfd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
