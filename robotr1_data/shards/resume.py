"""Is an existing output shard already what a rerun would write? Shared by generate and render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional, Sequence

from ..errors import UsageError
from . import _spec as S

# Config keys that change a shard's bytes or provenance, not what it holds: a complete shard
# written with another compression (or by an older robotr1) is kept on resume.
STORAGE_FIELDS = ("compression", "robotr1_version")


def listed_checksums(out_dir: Path) -> Dict[str, str]:
    """shard path (relative, POSIX) -> sha256 from ``<out_dir>/manifest.json``; empty when there
    is no readable manifest (a first run, or one killed before writing it)."""
    try:
        m = json.loads((Path(out_dir) / S.MANIFEST_NAME).read_text(encoding="utf-8"))
        return {e["path"]: e["sha256"] for e in m["shards"]
                if isinstance(e, dict) and isinstance(e.get("path"), str)
                and isinstance(e.get("sha256"), str)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def shard_complete(path: Path, config: dict, episodes: int, ignore: Sequence[str] = (),
                   expected_sha256: Optional[str] = None, log=print) -> bool:
    """True when ``path`` holds ``episodes`` episodes written with ``config``.

    ``expected_sha256`` is the shard's checksum in the dataset's manifest: a shard whose bytes
    differ (bit rot, a bad copy, an edit) is never adopted: False, so the caller rewrites it,
    and ``log`` says which and why. Without a manifest entry (a run killed before writing the
    manifest) every episode's content digest is checked instead.

    Raises UsageError when the shard exists but was made with other content settings: writing
    over it would silently throw away data someone generated on purpose. ``ignore`` names more
    config keys that do not decide content (how or where a run executes)."""
    from .manifest import file_sha256
    from .reader import ShardReader

    path = Path(path)
    if not path.exists():
        return False
    if expected_sha256 is not None and file_sha256(path) != expected_sha256:
        log(f"rewriting {path}: its bytes differ from {S.MANIFEST_NAME} (corrupted or modified "
            "after it was written)")
        return False
    if expected_sha256 is None and not _digests_match(path):
        log(f"rewriting {path}: its content differs from the digests written with it "
            "(corrupted after it was written)")
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


def _digests_match(path: Path) -> bool:
    """Every episode and the root against the content digests stored with them (shards from
    before digests pass). Reads the whole shard: used only for shards no manifest vouches for."""
    import h5py

    from .digest import DIGEST_ATTR, episode_digest, root_digest
    try:
        with h5py.File(path, "r") as f:
            grp = f[S.EPISODES_GROUP]
            for name in grp:
                stored = grp[name].attrs.get(DIGEST_ATTR)
                if stored is not None and episode_digest(grp[name]) != S.decode_attr("str", stored):
                    return False
            stored = f.attrs.get(DIGEST_ATTR)
            return stored is None or root_digest(f, S.EPISODES_GROUP) == S.decode_attr("str", stored)
    except Exception:
        return False  # unreadable: rewriting loses nothing usable
