"""Writing files so that nothing partial is ever taken for complete.

Temporary names a rerun may delete, atomic replace with fsync, and the one-line error for a
failed write (disk full). Used by the shard writer, manifests, summaries, exports and the QA
store; no HDF5 or numpy import, so light modules can use it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make a rename durable: the directory entry lives in the directory's own data."""
    try:
        fd = os.open(str(directory), os.O_RDONLY)
    except OSError:
        return  # some filesystems/platforms cannot open directories; the rename still happened
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        fh.flush()
        os.fsync(fh.fileno())


# Temporary files this program writes before an atomic rename: ``.<name>.<pid>.robotr1.tmp``.
# The marker lets a rerun delete what a killed run left without touching a user's own hidden
# ``.<something>.<digits>.tmp`` files below --out.
TEMP_MARKER = "robotr1.tmp"
_OWN_TEMP = re.compile(r"^\..+\.\d+\." + re.escape(TEMP_MARKER) + "$")


def temp_path(path: Path) -> Path:
    """The hidden temporary sibling of ``path`` that this process writes before renaming."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{TEMP_MARKER}")


def is_own_temp(name: str) -> bool:
    """Whether a file name is one that :func:`temp_path` makes."""
    return bool(_OWN_TEMP.match(name))


def write_error(exc: OSError, path: Path):
    """The one-line UsageError for a failed write of ``path``: disk full (ENOSPC, or a quota)
    says so and what to do; anything else names the OS error."""
    import errno

    from .errors import UsageError

    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) \
            or "No space left" in str(exc) or "quota exceeded" in str(exc).lower():
        return UsageError(f"no space left on device writing {path}; free space and rerun the "
                          "same command (finished files are kept)")
    return UsageError(f"cannot write {path} ({getattr(exc, 'strerror', None) or exc}); check "
                      "the directory is writable and rerun the same command")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` so that readers see either the old file or the whole new one; a failed
    write (disk full) leaves no temporary file and raises a one-line UsageError."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        # newline="\n": JSONL/JSON bytes are the same on every platform (no CRLF on Windows).
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(exc, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


# Output-directory hygiene shared by every command that writes a dataset (generate, render,
# RLBench import and export): one lock per output directory, and removal of our own temporaries.
LOCK_NAME = ".generate.lock"


class OutputLock:
    """An exclusive lock on ``<out>/.generate.lock`` for the whole run, so a second generate on
    the same directory fails with the fix instead of racing the first (and so that temporary
    files found while holding it are known to be left over from a dead run)."""

    def __init__(self, out: str):
        self.path = Path(out) / LOCK_NAME
        self._fh = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # no flock (Windows): run unlocked
            return self
        self._fh = open(self.path, "a+")
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            from .errors import UsageError
            self._fh.seek(0)
            holder = self._fh.read().strip() or "?"
            self._fh.close()
            self._fh = None
            raise UsageError(f"another robotr1-data generate (pid {holder}) is writing to "
                             f"{self.path.parent}; wait for it to finish or choose another "
                             "--out") from None
        try:
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.write(str(os.getpid()))
            self._fh.flush()
        except OSError as exc:  # a full disk: the pid is a courtesy, the flock is the lock
            self.__exit__()
            raise write_error(exc, self.path) from None
        return self

    def __exit__(self, *exc):
        if self._fh is not None:
            self._fh.close()  # closing releases the flock
            self._fh = None


def remove_partial_files(out: str) -> int:
    """Delete the hidden temporaries (``shards._spec.temp_path``: ``.<name>.<pid>.robotr1.tmp``)
    that ShardWriter and the manifest/summary writers leave when their process is killed; any
    other file, a user's ``.draft.2024.tmp`` included, is left alone. Call only while holding
    OutputLock."""
    n = 0
    for p in Path(out).rglob(".*.tmp"):
        if p.is_file() and is_own_temp(p.name):
            try:
                p.unlink()
                n += 1
            except OSError:
                pass
    return n
