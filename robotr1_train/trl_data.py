"""The QA store as a ``datasets.Dataset`` for TRL's ``GRPOTrainer`` and ``SFTTrainer``.

One row per question:

- ``prompt``: the conversational prompt of ``robotr1_train.data.prompt_messages`` (the record's text
  split at each ``<image>`` into text and image parts), so the chat template renders exactly the
  string ``eval-qa`` and ``eval-sim`` send (``tests/test_train_trl.py`` compares them byte for byte);
- ``images``: paths of PNG files, cast to ``Sequence(Image())``. The store keeps images inside HDF5
  shards, so each question's frames are written once, losslessly, to ``IMAGE_DIR`` (PNG: the pixels
  the trainer sees are the pixels ``eval-qa`` loads);
- ``completion`` (SFT only): the ``sft_direct`` / ``sft_cot`` target as an assistant message;
- ``record``: the whole QA record as JSON text, which the reward functions read. One string column
  instead of the record's own fields because ``target`` is a list in some rows and null in others,
  a column Arrow cannot type;
- ``type``: the question type (for per-type metrics without parsing JSON).
"""

from __future__ import annotations

import json
import os
from typing import Callable, Optional, Sequence

from robotr1_data.errors import UsageError
from robotr1_train.data import prompt_messages, record_images


def target_text(record: dict, target: str) -> str:
    """The SFT target of ``record`` (``robotr1_data.qa.sft.record_target``); ``UsageError`` if missing."""
    from robotr1_data.qa.sft import record_target

    try:
        return record_target(record, target)
    except ValueError as exc:
        raise UsageError(f"{exc}; rebuild the QA store with `robotr1-data build-qa` (it writes the SFT "
                         "targets)") from None


def _image_name(record: dict, k: int) -> str:
    import hashlib

    ident = json.dumps([record.get("id"), record.get("shard"), record.get("episode"), record.get("frame"),
                        record.get("camera"), k], sort_keys=True)
    return f"{hashlib.sha1(ident.encode('utf-8')).hexdigest()[:20]}.png"


def write_images(records: Sequence[dict], qa_dir, image_dir: str,
                 image_loader: Optional[Callable] = None) -> list[list[str]]:
    """PNG paths per record (written once; an existing file of the same name is reused)."""
    from PIL import Image

    os.makedirs(image_dir, exist_ok=True)
    out = []
    for rec in records:
        paths = []
        for k, img in enumerate(record_images(rec, qa_dir, image_loader)):
            path = os.path.join(image_dir, _image_name(rec, k))
            if not os.path.isfile(path):
                tmp = f"{path}.{os.getpid()}.tmp"
                Image.fromarray(img).save(tmp, format="PNG")
                os.replace(tmp, path)
            paths.append(os.path.abspath(path))
        out.append(paths)
    return out


def qa_dataset(records: Sequence[dict], qa_dir, image_dir: str, *, target: Optional[str] = None,
               image_loader: Optional[Callable] = None):
    """``datasets.Dataset`` of ``records`` (see the module docstring); ``target`` adds ``completion``."""
    from datasets import Dataset, Image, Sequence as DSequence

    paths = write_images(records, qa_dir, image_dir, image_loader)
    rows = {"prompt": [], "images": paths, "record": [], "type": []}
    if target is not None:
        rows["completion"] = []
    for rec in records:
        rows["prompt"].append(prompt_messages(rec))
        rows["record"].append(json.dumps(rec, sort_keys=True))
        rows["type"].append(str(rec.get("type", "unknown")))
        if target is not None:
            rows["completion"].append([{"role": "assistant", "content": [{"type": "text",
                                                                          "text": target_text(rec, target)}]}])
    ds = Dataset.from_dict(rows)
    return ds.cast_column("images", DSequence(Image()))


def check_prompt_lengths(records: Sequence[dict], processor, max_prompt_length: int, qa_dir=None,
                         image_loader: Optional[Callable] = None) -> None:
    """``UsageError`` when a prompt (text and image tokens) is longer than ``max_prompt_length``.

    TRL 1.16 does not truncate prompts (a cut would split an image's tokens), so the limit is ours.
    Only the longest text of each (number of images, image size) group is encoded: the others cannot
    be longer.
    """
    from robotr1_train.data import encode_prompts

    longest: dict = {}
    for rec in records:
        key = (rec["prompt"].count("<image>"), json.dumps(rec.get("image_size")))
        if key not in longest or len(rec["prompt"]) > len(longest[key]["prompt"]):
            longest[key] = rec
    for rec in longest.values():
        encode_prompts(processor, [rec], [record_images(rec, qa_dir, image_loader)], max_prompt_length)
