"""How every benchmark reports: print the markdown, and append it to ``--markdown FILE``."""

from typing import Optional


def emit(text: str, markdown: Optional[str], mode: str = "a") -> None:
    print(text)
    if markdown:
        with open(markdown, mode) as f:
            f.write(text + "\n")
