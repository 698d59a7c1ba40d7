"""The one way to turn command-line shard arguments (files and dataset directories) into shard
files, with one error text for every command that reads shards."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Sequence, Tuple

from robotr1_data.errors import UsageError


def find_shards(inputs: Sequence[str]) -> List[Tuple[Path, Path]]:
    """``(shard, path relative to its dataset root)`` for each ``.h5`` file given or found
    (recursively, hidden temporaries skipped) under each directory given; sorted per input,
    each file once."""
    if not inputs:
        raise UsageError("no shards given; pass shard files (.h5) or dataset directories")
    out: List[Tuple[Path, Path]] = []
    seen = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = [(q, q.relative_to(p)) for q in sorted(p.rglob("*.h5"))
                     if q.is_file() and not q.name.startswith(".")]
        elif p.is_file():
            found = [(p, Path(p.name))]
        else:
            raise UsageError(f"'{item}' does not exist; pass shard files (.h5) or dataset "
                             "directories")
        for q, rel in found:
            key = os.path.realpath(q)
            if key not in seen:
                seen.add(key)
                out.append((q, rel))
    if not out:
        raise UsageError(f"no .h5 shards found in {', '.join(map(str, inputs))}; record some "
                         "with `robotr1-data generate`")
    return out
