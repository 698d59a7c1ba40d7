"""Is an existing output shard already what a rerun would write? Shared by generate and render."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..errors import UsageError

# Config keys that change a shard's bytes or provenance, not what it holds: a complete shard
# written with another compression (or by an older robotr1) is kept on resume.
STORAGE_FIELDS = ("compression", "robotr1_version")


def shard_complete(path: Path, config: dict, episodes: int, ignore: Sequence[str] = ()) -> bool:
    """True when ``path`` holds ``episodes`` episodes written with ``config``.

    Raises UsageError when the shard exists but was made with other content settings: writing
    over it would silently throw away data someone generated on purpose. ``ignore`` names more
    config keys that do not decide content (how or where a run executes)."""
    from .reader import ShardReader

    path = Path(path)
    if not path.exists():
        return False
    try:
        with ShardReader(path) as r:
            stored, n = r.config, len(r.episodes)
    except Exception:
        return False  # unreadable: validate reports it; rewriting loses nothing usable
    skip = set(STORAGE_FIELDS) | set(ignore)
    have = {k: v for k, v in stored.items() if k not in skip}
    want = {k: v for k, v in config.items() if k not in skip}
    if have != want:
        diff = ", ".join(f"{k} {have.get(k)!r} -> {want.get(k)!r}"
                         for k in sorted(set(have) | set(want)) if have.get(k) != want.get(k))
        raise UsageError(f"{path} was made with other settings ({diff}); rerun with the original "
                         "settings to resume, or write to a new --out")
    return n == episodes
