"""Export a QA store to what GRPO/SFT trainers read (``robotr1-data export-qa``).

- ``easyr1``: ``OUT/train.jsonl`` with ``problem`` (the prompt, ``<image>`` placeholder kept —
  EasyR1 splits on it), ``answer`` (the ground truth the reward sees: ``A``..``D`` or
  ``[x, y, z]``), ``images`` (paths relative to OUT; set ``data.image_dir=OUT``), plus ``id``,
  ``type``, ``task``, ``target``. PNGs in ``OUT/images/``, one per distinct image.
- ``trl``: ``OUT/train.jsonl`` with a conversational ``prompt`` (one user message whose content
  is text / ``{"type": "image"}`` / text, the image where the placeholder was) and ``images``
  (paths relative to OUT), plus ``answer``, ``type``, ``task``, ``target`` (TRL passes extra
  columns to reward functions) and, with ``sft``, a conversational ``completion``.
- ``hf``: an imagefolder dataset: ``OUT/train/metadata.jsonl`` with ``file_name`` and every
  record field (``options`` as a list of the four option texts in letter order, empty for
  open-ended, so the Arrow schema is the same on every row), one PNG per record beside it
  (hard links where records share a frame). ``datasets.load_dataset("imagefolder", data_dir=OUT)``.

Every export writes ``OUT/export.json`` (format, count, template version, source store).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from ..errors import UsageError, did_you_mean, output_dir
from . import store
from .templates import IMAGE_PLACEHOLDER, LETTERS

FORMATS = ("easyr1", "trl", "hf")
SFT_TARGETS = ("direct", "cot")


def encode_png(img: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img[:, :, ::-1]))
    if not ok:
        raise UsageError("could not encode a PNG (opencv); check opencv-python-headless is installed")
    return buf.tobytes()


def image_key(rec: dict) -> str:
    """Name of a record's image: the same frame at the same size gives the same file."""
    ident = f"{rec['shard']}|{rec['episode']}|{rec['frame']}|{rec['camera']}|{rec.get('image_size')}"
    return f"{rec['task']}_{hashlib.sha1(ident.encode('utf-8')).hexdigest()[:16]}.png"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def trl_prompt(prompt: str) -> list:
    """One user message with the image where the ``<image>`` placeholder was."""
    content = []
    parts = prompt.split(IMAGE_PLACEHOLDER)
    for i, part in enumerate(parts):
        if i > 0:
            content.append({"type": "image"})
        text = part.strip("\n")
        if text:
            content.append({"type": "text", "text": text})
    return [{"role": "user", "content": content}]


def _ground_truth(rec: dict) -> str:
    return str(rec["answer"])


def export_qa(qa_dir: str, fmt: str, out_dir: str, sft: Optional[str] = None, log=print) -> dict:
    """Export the store at ``qa_dir`` in ``fmt`` to ``out_dir``; returns the export manifest."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format '{fmt}'{did_you_mean(fmt, FORMATS)} (choose from {', '.join(FORMATS)})")
    if sft is not None and sft not in SFT_TARGETS:
        raise UsageError(f"unknown --sft target '{sft}'{did_you_mean(sft, SFT_TARGETS)} (choose from {', '.join(SFT_TARGETS)})")
    records = store.read_records(qa_dir)
    if not records:
        raise UsageError(f"{qa_dir} holds no questions; rebuild it with robotr1-data build-qa")
    out = output_dir(out_dir, "export directory")

    rows = []
    written: Dict[str, Path] = {}
    for rec in records:
        key = image_key(rec)
        if fmt == "hf":
            dst = out / "train" / f"{rec['id']}.png"
            if key in written:
                _link_or_copy(written[key], dst)
            else:
                _write(dst, encode_png(store.load_image(rec, qa_dir)))
                written[key] = dst
            row = dict(rec)
            row["options"] = [rec["options"][k] for k in LETTERS] if rec.get("options") else []
            rows.append({"file_name": dst.name, **row})
            continue
        rel = f"images/{key}"
        if key not in written:
            _write(out / rel, encode_png(store.load_image(rec, qa_dir)))
            written[key] = out / rel
        extra = {"id": rec["id"], "type": rec["type"], "task": rec["task"], "target": rec.get("target")}
        if fmt == "easyr1":
            rows.append({"problem": rec["prompt"], "answer": _ground_truth(rec), "images": [rel], **extra})
        else:
            row = {"prompt": trl_prompt(rec["prompt"]), "images": [rel], "answer": _ground_truth(rec), **extra}
            if sft is not None:
                row["completion"] = [{"role": "assistant", "content": [{"type": "text", "text": rec[f"sft_{sft}"]}]}]
            rows.append(row)

    data_file = out / ("train/metadata.jsonl" if fmt == "hf" else "train.jsonl")
    data_file.parent.mkdir(parents=True, exist_ok=True)
    store.atomic_write_text(data_file, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    versions = sorted({str(r.get("template_version")) for r in records})
    manifest = {
        "format": fmt,
        "num_questions": len(rows),
        "num_images": len(written),
        "data_file": data_file.relative_to(out).as_posix(),
        "template_version": versions[0] if len(versions) == 1 else versions,
        "source": os.path.abspath(qa_dir),
        "sft": sft,
    }
    store.atomic_write_text(out / "export.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log(f"exported {len(rows)} questions ({len(written)} images) as {fmt} to {data_file}")
    return manifest
