"""The QA store: ``QA_DIR/questions.jsonl`` (one question per line) and ``QA_DIR/summary.json``.

Images are referenced, not copied: a record names its shard (relative to the QA dir, or
absolute), episode group, frame and camera; :func:`load_image` reads that frame from the shard
and resizes it to the record's ``image_size`` (height, width) with ``cv2.INTER_AREA``.

Open shard handles are cached per process (a few, least recently used first out), so a data
loader reading thousands of records opens each shard once; a forked worker starts its own cache.
"""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path
from typing import List, Optional, Union

import numpy as np

from ..errors import UsageError

QUESTIONS_FILE = "questions.jsonl"
SUMMARY_FILE = "summary.json"
# Present while build-qa writes the store: questions.jsonl and summary.json are two files, and a
# kill between them must not leave a store that reads as complete.
BUILDING_FILE = ".build-qa.incomplete"
MAX_OPEN_SHARDS = 8

_cache: "collections.OrderedDict[str, object]" = collections.OrderedDict()
_cache_pid: Optional[int] = None


def questions_path(qa_dir: Union[str, os.PathLike]) -> Path:
    p = Path(qa_dir)
    return p if p.is_file() else p / QUESTIONS_FILE


def file_sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_complete(qa_dir: Union[str, os.PathLike]) -> None:
    """UsageError (one line, with the fix) unless the store was written to the end: no
    build-qa in progress or killed (BUILDING_FILE), and questions.jsonl is the file its
    summary.json describes (sha256, or the count for stores from before the checksum).
    A hand-made questions.jsonl with no summary.json passes."""
    path = questions_path(qa_dir)
    d = path.parent
    fix = f"rerun the same robotr1-data build-qa command (--out {d}) to rebuild it"
    if (d / BUILDING_FILE).exists():
        raise UsageError(f"QA store {d} is incomplete (a build-qa was interrupted while writing "
                         f"it); {fix}")
    summary_path = d / SUMMARY_FILE
    if not summary_path.is_file() or not path.is_file():
        return
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise UsageError(f"{summary_path} is unreadable; the QA store is incomplete: {fix}") \
            from None
    if not isinstance(summary, dict):
        raise UsageError(f"{summary_path} is not a build-qa summary; {fix}")
    want = summary.get("questions_sha256")
    if isinstance(want, str):
        if file_sha256(path) != want:
            raise UsageError(f"{path} and {SUMMARY_FILE} disagree (sha256 differs: an "
                             f"interrupted build or an edit); the QA store is incomplete: {fix}")
        return
    n = summary.get("num_questions")
    if isinstance(n, int):
        with open(path, "rb") as fh:
            have = sum(1 for line in fh if line.strip())
        if have != n:
            raise UsageError(f"{path} holds {have} records but {SUMMARY_FILE} says {n} (an "
                             f"interrupted build); the QA store is incomplete: {fix}")


def read_records(qa_dir: Union[str, os.PathLike]) -> List[dict]:
    """All records of a QA store (``QA_DIR`` or the ``questions.jsonl`` itself), in file order.
    An incomplete store (see :func:`check_complete`) is refused."""
    path = questions_path(qa_dir)
    if not path.is_file():
        raise UsageError(f"no {QUESTIONS_FILE} in {qa_dir}; build one with robotr1-data build-qa SHARDS --out {qa_dir}")
    check_complete(qa_dir)
    out = []
    with open(path, "r", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"{path}:{n} is not valid JSON ({e.msg}); rebuild the store with build-qa") from None
            if not isinstance(rec, dict):
                raise UsageError(f"{path}:{n} is not a JSON object; rebuild the store with build-qa")
            out.append(rec)
    return out


def read_summary(qa_dir: Union[str, os.PathLike]) -> dict:
    path = Path(qa_dir) / SUMMARY_FILE
    if not path.is_file():
        raise UsageError(f"no {SUMMARY_FILE} in {qa_dir}; build the store with robotr1-data build-qa")
    with open(path, "r", encoding="utf-8") as fh:
        return json.load(fh)


def shard_path(record: dict, qa_dir: Optional[Union[str, os.PathLike]] = None) -> Path:
    """The record's shard file: absolute as stored, or relative to ``qa_dir`` (default: cwd)."""
    p = Path(record["shard"])
    if p.is_absolute():
        return p
    return Path(qa_dir) / p if qa_dir is not None else p


def _reader(path: Path):
    global _cache_pid
    from ..shards import ShardReader

    if _cache_pid != os.getpid():  # forked: the parent's handles are not ours to use
        _cache.clear()
        _cache_pid = os.getpid()
    key = os.path.realpath(path)
    r = _cache.get(key)
    if r is not None:
        _cache.move_to_end(key)
        return r
    r = ShardReader(path)
    _cache[key] = r
    while len(_cache) > MAX_OPEN_SHARDS:
        _, old = _cache.popitem(last=False)
        old.close()
    return r


def close_cache() -> None:
    """Close every cached shard handle of this process."""
    while _cache:
        _, r = _cache.popitem()
        if _cache_pid == os.getpid():
            r.close()


def resize(img: np.ndarray, size) -> np.ndarray:
    """(H, W, 3) uint8 resized to ``size`` = (height, width) with cv2.INTER_AREA."""
    import cv2

    h, w = int(size[0]), int(size[1])
    if img.shape[:2] == (h, w):
        return np.ascontiguousarray(img)
    return cv2.resize(np.ascontiguousarray(img), (w, h), interpolation=cv2.INTER_AREA)


def load_image(record: dict, qa_dir: Optional[Union[str, os.PathLike]] = None) -> np.ndarray:
    """The record's image: (H, W, 3) uint8 at the record's ``image_size``."""
    path = shard_path(record, qa_dir)
    if not path.is_file():
        raise UsageError(
            f"shard {path} of question {record.get('id')!r} not found; pass qa_dir (the store's "
            "directory) or keep the shards where build-qa found them"
        )
    img = _reader(path).frame(record["episode"], f"{record['camera']}_rgb", int(record["frame"]))
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise UsageError(f"{path}:{record['episode']} {record['camera']}_rgb is {img.dtype} {img.shape}, "
                         "expected (H, W, 3) uint8")
    size = record.get("image_size") or img.shape[:2]
    return resize(img, size)
