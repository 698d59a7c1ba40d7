"""describe: the human summary behind ``robotr1-data inspect FILE``."""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path
from typing import List, Union

from ..errors import UsageError
from . import _spec as S
from .manifest import read_manifest
from .reader import ShardReader


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _config_summary(config: dict, width: int = 100) -> List[str]:
    """One line per top-level key, long values cut so a big config stays readable."""
    lines = []
    for k in sorted(config):
        v = json.dumps(config[k], sort_keys=True)
        lines.append(f"  {k}: {v if len(v) <= width else v[: width - 3] + '...'}")
    return lines or ["  (empty)"]


def describe(path: Union[str, os.PathLike]) -> str:
    """A readable summary of a shard file or dataset directory; UsageError if unreadable."""
    path = Path(path)
    if path.is_dir():
        return printable(_describe_dir(path))
    try:
        return printable(_describe_file(path))
    except UsageError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as e:  # damaged metadata
        msg = " ".join(str(e).split())[:200]
        raise UsageError(printable(f"{path} is damaged ({type(e).__name__}: {msg}); run "
                                   f"robotr1-data validate {path} --full, then re-copy or "
                                   "regenerate it")) from None


def printable(text: str) -> str:
    """``text`` safe to print: damaged attribute bytes decode to lone surrogates, which a UTF-8
    stdout cannot encode (a crash while reporting the damage)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _describe_file(path: Path) -> str:
    lines: List[str] = []
    with ShardReader(path) as r:
        lines.append(f"{path}  ({_size(path.stat().st_size)} on disk)")
        lines.append(f"schema_version {r.schema_version}, created by {r.created_by}, "
                     f"{len(r.episodes)} episodes, {len(r.mask_names)} mask names")
        lines.append("config:")
        lines += _config_summary(r.config)
        cam_sizes: dict = {}
        lines.append("episodes:")
        for ep in r.episodes:
            a = r.attrs(ep)
            g = r.h5[ep]
            kp = r.low_dim(ep, "keypoints").tolist()
            kp_s = str(kp) if len(kp) <= 12 else f"{kp[:12]}... ({len(kp)})"
            lines.append(
                f"  {ep}: task={a.get('task')} variation={a.get('variation')} "
                f"seed={a.get('seed')} length={a.get('length')} "
                f"success={a.get('success')} attempts={a.get('attempts')} "
                f"images={len(r.image_frames(ep))} keypoints={kp_s}")
            for cam in a.get("cameras", []):
                for kind in S.IMAGE_KINDS:
                    key = f"{cam}_{kind}"
                    if key in g:
                        d = g[key]
                        scale = S.depth_scale(d)
                        dtype = (str(d.dtype) if scale is None
                                 else f"float32 (stored {d.dtype} x {scale:.3g} m)")
                        cam_sizes.setdefault(cam, set()).add(
                            f"{kind} {'x'.join(map(str, d.shape[1:3]))} {dtype}")
        lines.append("cameras:")
        for cam in sorted(cam_sizes):
            lines.append(f"  {cam}: {', '.join(sorted(cam_sizes[cam]))}")
        if not cam_sizes:
            lines.append("  (none: recorded without images)")
    return "\n".join(lines)


def _describe_dir(path: Path) -> str:
    m = read_manifest(path)
    tasks: collections.Counter = collections.Counter()
    lines = [f"{path}  (manifest schema_version {m.get('schema_version')}, "
             f"{len(m['shards'])} shards)"]
    total_bytes = 0
    for s in m["shards"]:
        p = path / s["path"]
        size = p.stat().st_size if p.exists() else 0
        total_bytes += size
        tasks.update(s.get("tasks", {}))
        lines.append(f"  {s['path']}: {s.get('episodes')} episodes, {_size(size)}"
                     + ("" if p.exists() else "  MISSING"))
    lines.append(f"episodes per task: {dict(sorted(tasks.items()))}; {_size(total_bytes)} in all")
    lines.append("config:")
    lines += _config_summary(m.get("config", {}))
    return "\n".join(lines)
