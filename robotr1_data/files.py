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
