"""``<out>/manifest.json``: the list of shards of a dataset, with checksums and counts.

The manifest lets a consumer check a copied dataset (sha256 per shard), count episodes per
task without opening every shard, and regenerate it (the generator config).
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Optional, Union

from ..errors import UsageError
from . import _spec as S
from .reader import ShardReader

PathLike = Union[str, os.PathLike]


def file_sha256(path: PathLike, block: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks so large shards do not fill memory."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(block), b""):
            h.update(chunk)
    return h.hexdigest()


def shard_entry(shard: PathLike, out_dir: PathLike) -> dict:
    """The manifest entry of one shard: relative path, sha256, episode and per-task counts."""
    out_dir = Path(out_dir)
    p = Path(shard)
    if not p.is_absolute() and not p.exists():
        p = out_dir / p  # a path given relative to the dataset directory
    try:
        rel = Path(os.path.relpath(p.resolve(), out_dir.resolve()))
    except ValueError:  # different drives on Windows
        rel = Path("..")
    if rel.parts[:1] == ("..",):
        raise UsageError(f"shard {shard} is outside the dataset directory {out_dir}; "
                         "write shards under the directory that holds manifest.json")
    with ShardReader(p) as r:
        tasks = collections.Counter(r.attrs(ep)["task"] for ep in r.episodes)
        n = len(r.episodes)
    return {"path": rel.as_posix(), "sha256": file_sha256(p), "episodes": n,
            "tasks": dict(sorted(tasks.items()))}


def write_manifest(out_dir: PathLike, entries: Iterable[Union[PathLike, dict]],
                   config: Optional[dict] = None) -> Path:
    """Write ``<out_dir>/manifest.json`` atomically and return its path.

    ``entries`` are shard paths (checksummed and counted here) or ready entry dicts
    (``path`` relative to ``out_dir``, ``sha256``, ``episodes``, ``tasks``). ``config`` defaults
    to the first shard's generator config.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise UsageError(f"cannot write manifest: {out_dir} is not a directory")
    shards = []
    for e in entries:
        if isinstance(e, dict):
            missing = {"path", "sha256", "episodes", "tasks"} - set(e)
            if missing:
                raise UsageError(f"manifest entry {e} lacks {sorted(missing)}; pass the shard "
                                 "path instead and it is computed")
            shards.append(dict(e))
        else:
            shards.append(shard_entry(e, out_dir))
    if config is None:
        config = {}
        if shards:
            with ShardReader(out_dir / shards[0]["path"]) as r:
                config = r.config
    manifest = {"schema_version": S.SCHEMA_VERSION, "shards": shards, "config": config}
    path = out_dir / S.MANIFEST_NAME
    S.atomic_write_text(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def read_manifest(out_dir: PathLike) -> dict:
    """The parsed manifest of a dataset directory, or UsageError with the fix."""
    path = Path(out_dir) / S.MANIFEST_NAME
    if not path.is_file():
        raise UsageError(f"no {S.MANIFEST_NAME} in {out_dir}; is this a dataset directory? "
                         "(the generator writes it last, so an interrupted run has none)")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"{path} is not valid JSON ({e}); regenerate it with "
                         "robotr1_data.shards.write_manifest") from None
    fix = "regenerate it with robotr1_data.shards.write_manifest (or rerun the command that wrote it)"
    if not isinstance(m, dict) or not isinstance(m.get("shards"), list):
        raise UsageError(f"{path} has no 'shards' list; it is not a robotr1 manifest")
    version = m.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise UsageError(f"{path}: schema_version is {version!r}, not an integer; {fix}")
    if version > S.SCHEMA_VERSION:
        raise UsageError(f"{path} uses schema version {m['schema_version']}, newer than this "
                         f"robotr1 supports ({S.SCHEMA_VERSION}); upgrade: pip install -U robotr1")
    kinds = {"path": str, "sha256": str, "episodes": int, "tasks": dict}
    for i, e in enumerate(m["shards"]):
        if not isinstance(e, dict):
            raise UsageError(f"{path}: shards[{i}] is {type(e).__name__} {str(e)[:40]!r}, not an "
                             f"object with path, sha256, episodes, tasks; {fix}")
        bad = [k for k, t in kinds.items() if k in e and not isinstance(e[k], t)]
        if bad or not isinstance(e.get("path"), str):
            raise UsageError(f"{path}: shards[{i}] has a missing or wrongly typed "
                             f"{', '.join(bad or ['path'])}; {fix}")
    if "config" in m and not isinstance(m["config"], dict):
        raise UsageError(f"{path}: config is {type(m['config']).__name__}, not an object; {fix}")
    return m
