"""Export a QA store to what GRPO/SFT trainers read (``robotr1-data export-qa``).

- ``easyr1``: ``OUT/train.jsonl`` and ``OUT/val.jsonl`` (split by episode, ``val_fraction`` of
  the episodes, seeded) with ``problem`` (the prompt, ``<image>`` placeholder kept — EasyR1
  splits on it), ``answer`` (the ground truth the reward sees: ``A``..``D`` or ``[x, y, z]``),
  ``images`` (paths relative to OUT; ``data.image_dir=OUT``), plus ``id``, ``type``, ``task``
  (strings on every row: EasyR1 concatenates batches column by column). PNGs in ``OUT/images/``,
  one per distinct image, at their stored size. ``OUT/reward.py``, ``OUT/config.yaml`` and
  ``OUT/README.md`` make it one command (``robotr1_data.qa.easyr1``).
- ``trl``: ``OUT/train.jsonl`` with a conversational ``prompt`` (one user message whose content
  is text / ``{"type": "image"}`` / text, the image where the placeholder was, the text around it
  byte for byte as in the prompt — the chat template gives what eval-qa sends) and ``images``
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
from ..files import atomic_write_text
from . import store
from .sft import TARGETS as SFT_TARGETS, record_target
from .templates import IMAGE_PLACEHOLDER, LETTERS

FORMATS = ("easyr1", "trl", "hf")


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
    """One user message with the image where the ``<image>`` placeholder was; the text parts keep
    their newlines, so the chat template renders the same string as ``robotr1_train.data`` (what
    eval-qa and eval-sim send) and as EasyR1's own split of the prompt."""
    content = []
    parts = prompt.split(IMAGE_PLACEHOLDER)
    for i, part in enumerate(parts):
        if i > 0:
            content.append({"type": "image"})
        if part:
            content.append({"type": "text", "text": part})
    return [{"role": "user", "content": content}]


REQUIRED = ("id", "type", "task", "prompt", "answer", "shard", "episode", "frame", "camera")


def _read(qa_dir: str) -> list:
    """The store's records, each checked for what an export needs (one line naming the first bad one)."""
    try:
        records = store.read_records(qa_dir)
    except UnicodeDecodeError:
        raise UsageError(f"{store.questions_path(qa_dir)} is not UTF-8 text (a binary file?); rebuild the store "
                         "with robotr1-data build-qa") from None
    if not records:
        raise UsageError(f"{qa_dir} holds no questions; rebuild it with robotr1-data build-qa")
    for n, rec in enumerate(records, 1):
        missing = [k for k in REQUIRED if rec.get(k) in (None, "")]
        if missing:
            raise UsageError(f"question {n} ({rec.get('id', 'no id')}) in {qa_dir} has no {', '.join(missing)}; "
                             "rebuild the store with robotr1-data build-qa")
        if not isinstance(rec["prompt"], str) or rec["prompt"].count(IMAGE_PLACEHOLDER) != 1:
            raise UsageError(f"question {rec['id']} in {qa_dir}: the prompt must be text with exactly one "
                             f"{IMAGE_PLACEHOLDER}; rebuild the store with robotr1-data build-qa")
    return records


def _ground_truth(rec: dict) -> str:
    return str(rec["answer"])


def _easyr1_row(rec: dict, rel: str) -> dict:
    # No ``target``: a list on most rows and null on movement rows breaks EasyR1's DataProto.concat,
    # and ``answer`` already holds it (the store rounds both to the printed 3 decimals).
    return {"problem": rec["prompt"], "answer": _ground_truth(rec), "images": [rel],
            "id": str(rec["id"]), "type": str(rec["type"]), "task": str(rec["task"])}


def export_qa(qa_dir: str, fmt: str, out_dir: str, sft: Optional[str] = None, log=print,
              val_fraction: Optional[float] = None, seed: int = 0) -> dict:
    """Export the store at ``qa_dir`` in ``fmt`` to ``out_dir``; returns the export manifest.

    ``val_fraction`` (easyr1 only, default 0.1) of the episodes go to ``val.jsonl``, drawn with
    ``numpy.random.default_rng(seed)``."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format '{fmt}'{did_you_mean(fmt, FORMATS)} (choose from {', '.join(FORMATS)})")
    if sft is not None and sft not in SFT_TARGETS:
        raise UsageError(f"unknown --sft target '{sft}'{did_you_mean(sft, SFT_TARGETS)} (choose from {', '.join(SFT_TARGETS)})")
    if sft is not None and fmt != "trl":
        raise UsageError(f"--sft applies to --format trl only (got --format {fmt})")
    if val_fraction is not None and fmt != "easyr1":
        raise UsageError(f"--val-fraction applies to --format easyr1 only (got --format {fmt})")
    records = _read(qa_dir)
    splits = {"train": records}
    if fmt == "easyr1":
        from . import easyr1

        easyr1.check_out_dir(out_dir)
        train, val = easyr1.split_by_episode(records, 0.1 if val_fraction is None else float(val_fraction),
                                             np.random.default_rng(seed))
        splits = {"train": train, "val": val}
    out = output_dir(out_dir, "export directory")

    written: Dict[str, Path] = {}
    sizes = set()

    def image(rec: dict, dst: Path, link: bool) -> None:
        key = image_key(rec)
        if key in written:
            if link:
                _link_or_copy(written[key], dst)
            return
        img = store.load_image(rec, qa_dir)
        sizes.add(int(img.shape[0]) * int(img.shape[1]))
        _write(dst, encode_png(img))
        written[key] = dst

    files = {}
    for split, recs in splits.items():
        rows = []
        for rec in recs:
            if fmt == "hf":
                dst = out / "train" / f"{rec['id']}.png"
                image(rec, dst, link=True)
                row = dict(rec)
                row["options"] = [rec["options"][k] for k in LETTERS] if rec.get("options") else []
                rows.append({"file_name": dst.name, **row})
                continue
            rel = f"images/{image_key(rec)}"
            image(rec, out / rel, link=False)
            if fmt == "easyr1":
                rows.append(_easyr1_row(rec, rel))
                continue
            extra = {"id": rec["id"], "type": rec["type"], "task": rec["task"], "target": rec.get("target")}
            row = {"prompt": trl_prompt(rec["prompt"]), "images": [rel], "answer": _ground_truth(rec), **extra}
            if sft is not None:
                row["completion"] = [{"role": "assistant", "content": [{"type": "text", "text": record_target(rec, sft)}]}]
            rows.append(row)
        data_file = out / ("train/metadata.jsonl" if fmt == "hf" else f"{split}.jsonl")
        data_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(data_file, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        files[split] = (data_file, len(rows))

    versions = sorted({str(r.get("template_version")) for r in records})
    manifest = {
        "format": fmt,
        "num_questions": sum(n for _, n in files.values()),
        "num_images": len(written),
        "data_file": files["train"][0].relative_to(out).as_posix(),
        "template_version": versions[0] if len(versions) == 1 else versions,
        "source": os.path.abspath(qa_dir),
        "sft": sft,
    }
    if fmt == "easyr1":
        manifest.update(val_file=files["val"][0].relative_to(out).as_posix(), num_train=files["train"][1],
                        num_val=files["val"][1], val_fraction=0.1 if val_fraction is None else float(val_fraction),
                        seed=int(seed), easyr1_commit=easyr1.EASYR1_COMMIT)
        pixels = (min(sizes), max(sizes))
        atomic_write_text(out / easyr1.REWARD_FILE, easyr1.reward_file(out.resolve()))
        atomic_write_text(out / easyr1.CONFIG_FILE,
                                easyr1.config_yaml(easyr1.config(out, pixels)))
        atomic_write_text(out / easyr1.README_FILE,
                                easyr1.readme(out, files["train"][1], files["val"][1], pixels))
    atomic_write_text(out / "export.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    if fmt == "easyr1":
        log(f"exported {files['train'][1]} train + {files['val'][1]} val questions ({len(written)} images) as "
            f"easyr1 to {out}; launch: see {out / easyr1.README_FILE}")
    else:
        log(f"exported {files['train'][1]} questions ({len(written)} images) as {fmt} to {files['train'][0]}")
    return manifest
