"""Every error the data side raises on purpose, in one place.

Raise ``UsageError`` for bad input (unknown task, bad size, unwritable path, missing file):
the CLIs print its message as one line and exit with code 2, no traceback. ``GenerationError``
(some shards could not be made) exits with 1 after keeping what was completed. ``DemoError`` and
``IKError`` are the expert's per-attempt failures, caught and counted by the recorder.
"""

import difflib
from typing import Iterable


class UsageError(Exception):
    """Bad input from the user; the message names the problem and the fix."""


class GenerationError(RuntimeError):
    """Some shards could not be completed; the message lists each with its reason."""


class DemoError(RuntimeError):
    """The expert could not produce a successful demo; ``reason`` is a short category."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class IKError(RuntimeError):
    """Inverse kinematics found no joint configuration for a target."""


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
