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
