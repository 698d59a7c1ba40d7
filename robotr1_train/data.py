"""Questions as model inputs: loading the QA store, chat prompts with images, left-padded batches.

A record's ``prompt`` holds one ``<image>`` placeholder per image (Robot-R1 uses one front-camera
image; several work). The image loader is a callable ``(record, qa_dir) -> ndarray (H, W, 3) uint8`` or
a list of them, defaulting to ``robotr1_data.qa.store.load_image``; tests pass synthetic images.

Data order is a pure function of (seed, epoch): ``epoch_order`` is what makes ``--resume`` replay
the same batches without saving a sampler.
"""

from __future__ import annotations

import os
from typing import Callable, Optional, Sequence

import numpy as np

from robotr1_data.errors import UsageError

IMAGE_PLACEHOLDER = "<image>"


def default_image_loader(record: dict, qa_dir):
    from robotr1_data.qa.store import load_image

    return load_image(record, qa_dir)


def load_records(qa_dir, question_types: Optional[Sequence[str]] = None, max_samples: int = -1) -> list[dict]:
    """Read ``QA_DIR/questions.jsonl`` (via ``robotr1_data.qa.store.read_records``), filtered."""
    qa_dir = str(qa_dir)
    path = os.path.join(qa_dir, "questions.jsonl")
    if not os.path.isdir(qa_dir):
        raise UsageError(f"QA directory '{qa_dir}' does not exist; build one with `robotr1-data build-qa SHARDS --out DIR`")
    if not os.path.isfile(path):
        raise UsageError(f"'{qa_dir}' has no questions.jsonl; is it a QA store? (`robotr1-data build-qa` writes one)")
    try:
        from robotr1_data.qa.store import read_records
    except ImportError:
        read_records = None
    try:
        if read_records is not None:
            records = list(read_records(qa_dir))
        else:  # the store module is not there yet: read the documented JSON Lines directly
            import json

            with open(path, encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not UTF-8 text (byte {e.start}); is it a questions.jsonl written by "
                         "`robotr1-data build-qa`? Rebuild the QA store") from None
    except ValueError as e:  # json.JSONDecodeError
        raise UsageError(f"{path} is not JSON Lines ({str(e).splitlines()[0]}); rebuild the QA store with "
                         "`robotr1-data build-qa`") from None
    if any(not isinstance(r, dict) or not isinstance(r.get("prompt"), str) for r in records):
        raise UsageError(f"{path} has a record that is not a question object with a 'prompt'; rebuild the QA "
                         "store with `robotr1-data build-qa`")
    return filter_records(records, question_types, max_samples, where=qa_dir)


def filter_records(records, question_types=None, max_samples: int = -1, where: str = "the QA store") -> list[dict]:
    records = list(records)
    if question_types:
        known = sorted({r.get("type") for r in records})
        bad = [t for t in question_types if t not in known]
        if bad:
            raise UsageError(f"question type(s) {bad} not in {where} (types there: {known})")
        records = [r for r in records if r.get("type") in set(question_types)]
    if max_samples is not None and max_samples > 0:
        records = records[:max_samples]
    if not records:
        raise UsageError(f"no questions in {where}")
    return records


def record_images(record: dict, qa_dir, image_loader: Optional[Callable] = None) -> list[np.ndarray]:
    loader = image_loader or default_image_loader
    imgs = loader(record, qa_dir)
    if isinstance(imgs, np.ndarray) and imgs.ndim == 3:
        imgs = [imgs]
    imgs = [np.asarray(im) for im in imgs]
    n = record["prompt"].count(IMAGE_PLACEHOLDER)
    if n != len(imgs):
        raise UsageError(
            f"question {record.get('id')}: prompt has {n} {IMAGE_PLACEHOLDER} placeholder(s) but "
            f"{len(imgs)} image(s) were loaded"
        )
    return imgs


def prompt_messages(record: dict, system: Optional[str] = None) -> list[dict]:
    """Chat messages for ``record``: the prompt split at each ``<image>`` into text and image parts."""
    content = []
    parts = record["prompt"].split(IMAGE_PLACEHOLDER)
    for i, part in enumerate(parts):
        if part:
            content.append({"type": "text", "text": part})
        if i < len(parts) - 1:
            content.append({"type": "image"})
    msgs = []
    if system:
        msgs.append({"role": "system", "content": system})
    msgs.append({"role": "user", "content": content})
    return msgs


def prompt_text(processor, record: dict) -> str:
    return processor.apply_chat_template(prompt_messages(record), tokenize=False, add_generation_prompt=True)


def encode_prompts(processor, records: Sequence[dict], images: Sequence[Sequence[np.ndarray]],
                   max_prompt_length: Optional[int] = None) -> dict:
    """Left-padded batch: input_ids, attention_mask, mm_token_type_ids, pixel_values, image_grid_thw."""
    texts = [prompt_text(processor, r) for r in records]
    flat = [im for ims in images for im in ims]
    processor.tokenizer.padding_side = "left"
    batch = processor(text=texts, images=flat if flat else None, padding=True, return_tensors="pt")
    if max_prompt_length is not None:
        lengths = batch["attention_mask"].sum(-1)
        too_long = [(r.get("id"), int(n)) for r, n in zip(records, lengths) if int(n) > max_prompt_length]
        if too_long:
            raise UsageError(
                f"prompt of question {too_long[0][0]} has {too_long[0][1]} tokens > max_prompt_length "
                f"{max_prompt_length}; raise max_prompt_length (--set max_prompt_length=N) or use smaller images"
            )
    out = dict(batch)
    if "mm_token_type_ids" not in out:
        import torch

        image_id = getattr(processor, "image_token_id", None)
        out["mm_token_type_ids"] = (out["input_ids"] == image_id).to(torch.int32)
    return out


def split_prompt_batch(batch: dict) -> list[dict]:
    """Split a padded prompt batch into per-prompt dicts (unpadded ids and that prompt's image rows)."""
    grid = batch.get("image_grid_thw")
    pix = batch.get("pixel_values")
    out = []
    mm = batch["mm_token_type_ids"]
    img_offset = 0  # images consumed
    row_offset = 0  # pixel rows consumed
    image_token_ids = batch["input_ids"]
    for i in range(batch["input_ids"].shape[0]):
        keep = batch["attention_mask"][i].bool()
        ids = image_token_ids[i][keep]
        types = mm[i][keep]
        item = {"input_ids": ids, "mm_token_type_ids": types}
        if grid is not None:
            # count this prompt's images: runs of image tokens
            t = types.tolist()
            n_img = sum(1 for j in range(len(t)) if t[j] == 1 and (j == 0 or t[j - 1] != 1))
            g = grid[img_offset: img_offset + n_img]
            rows = int(g.prod(-1).sum()) if n_img else 0
            item["image_grid_thw"] = g
            item["pixel_values"] = pix[row_offset: row_offset + rows]
            img_offset += n_img
            row_offset += rows
        out.append(item)
    return out


def collate_sequences(prompts: Sequence[dict], completions: Sequence[Sequence[int]], pad_id: int) -> dict:
    """Batch [left-padded prompt | right-padded completion]: every completion starts at column P.

    ``prompts``: per-prompt dicts from ``split_prompt_batch``; ``completions``: token id lists.
    Returns input_ids, attention_mask, mm_token_type_ids, pixel_values, image_grid_thw,
    completion_ids [B, C], completion_mask [B, C], prompt_length P.
    """
    import torch

    P = max(int(p["input_ids"].shape[0]) for p in prompts)
    C = max(1, max(len(c) for c in completions))
    B = len(prompts)
    input_ids = torch.full((B, P + C), pad_id, dtype=torch.long)
    attn = torch.zeros((B, P + C), dtype=torch.long)
    mm = torch.zeros((B, P + C), dtype=torch.int32)
    comp = torch.full((B, C), pad_id, dtype=torch.long)
    cmask = torch.zeros((B, C), dtype=torch.float32)
    pix, grids = [], []
    for i, (p, c) in enumerate(zip(prompts, completions)):
        n = int(p["input_ids"].shape[0])
        input_ids[i, P - n: P] = p["input_ids"]
        attn[i, P - n: P] = 1
        mm[i, P - n: P] = p["mm_token_type_ids"]
        if len(c):
            ct = torch.as_tensor(list(c), dtype=torch.long)
            input_ids[i, P: P + len(c)] = ct
            attn[i, P: P + len(c)] = 1
            comp[i, : len(c)] = ct
            cmask[i, : len(c)] = 1.0
        if p.get("pixel_values") is not None and p["pixel_values"].shape[0]:
            pix.append(p["pixel_values"])
            grids.append(p["image_grid_thw"])
    out = {
        "input_ids": input_ids, "attention_mask": attn, "mm_token_type_ids": mm,
        "completion_ids": comp, "completion_mask": cmask, "prompt_length": P,
    }
    if pix:
        out["pixel_values"] = torch.cat(pix, 0)
        out["image_grid_thw"] = torch.cat(grids, 0)
    return out


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of question indices used in ``epoch`` (a pure function: resumable)."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n)


def step_indices(n: int, batch: int, seed: int, step: int) -> tuple[int, np.ndarray]:
    """(epoch, question indices) of global ``step``; drops the last partial batch of an epoch."""
    batch = min(batch, n)
    per_epoch = max(1, n // batch)
    epoch, k = divmod(step, per_epoch)
    order = epoch_order(n, seed, epoch)
    return epoch, order[k * batch: (k + 1) * batch]


def steps_per_epoch(n: int, batch: int) -> int:
    return max(1, n // min(batch, n))
