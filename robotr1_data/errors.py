"""Errors that tell the user the fix.

Raise ``UsageError`` for bad input (unknown task, bad size, unwritable path, missing file):
the CLIs print its message as one line and exit with code 2, no traceback.
"""

import difflib
from typing import Iterable


class UsageError(Exception):
    """Bad input from the user; the message names the problem and the fix."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def output_dir(path, what: str = "output directory"):
    """Create ``path`` (with parents) and prove it is writable, or raise a UsageError with the
    fix; every command that writes a directory goes through here."""
    import os
    from pathlib import Path

    out = Path(path)
    probe = out / f".write_test.{os.getpid()}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write to {what} '{out}' ({exc.strerror}); choose another --out") \
            from None
    return out
