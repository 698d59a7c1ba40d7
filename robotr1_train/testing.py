"""A tiny, offline Qwen2.5-VL for tests, benchmarks and ``make demo``'s training smoke run.

``build_tiny_vlm(out_dir, seed)`` writes a randomly initialised Qwen2.5-VL (text hidden 64, 2 layers,
vision depth 2) plus a byte-level BPE tokenizer trained on a few KB of Robot-R1-style text and a
processor, all with ``save_pretrained``, so the directory loads exactly like a hub checkpoint:
``robotr1_train.models.load_model_and_processor(out_dir)``. Nothing is downloaded.

Images are resized to 56x56 (4 image tokens each) so a multi-image prompt stays a few dozen tokens.
The directory is cache-friendly: a second call with the same seed returns at once.

``build_tiny_vlm(..., corpus=texts, vocab_size=N)`` trains the tokenizer on ``texts`` instead (e.g. a
QA store's prompts and targets, ``qa_corpus``), merging across spaces so a store's fixed sentences
become a few tokens, with digits split one by one as Qwen's tokenizer splits them: a Robot-R1 prompt
is ~120 tokens instead of ~520, which makes a CPU SFT update about 2.4x and a GRPO step 2.8x
cheaper (bench/learning.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# The special tokens Qwen2.5-VL's chat template and processor rely on, with the ids they get here.
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
TINY_VERSION = 1  # bump when the tiny model's recipe changes, so cached copies are rebuilt

# Qwen2.5-VL's chat template, reduced to what Robot-R1 prompts use (text and images).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS_LINES = [
    "You are Franka Robot Assistant. Look at the front view image and answer the question.",
    "Task: pick up the red cup. Task: push the maroon button. Task: put rubbish in bin.",
    "Task: put the phone on the base. Task: take the lid off the saucepan.",
    "The x axis points from the front of the table (+) to the back (-). The y axis points from left (-) to right (+).",
    "The z axis points from down (-) to up (+). The world origin [0.25, 0, 0.752] is the centre of the table surface.",
    "The gripper is 0.06 (x) by 0.2 (y) by 0.09 (z) metres, fingers 0.04 metres.",
    "Current Robot State Position: [0.265, -0.112, 1.154]",
    "What is the position of the next keypoint? What is the current position of the gripper?",
    "Which movement brings the gripper to the next keypoint?",
    "[[A]] [0.265, -0.112, 1.154] [[B]] [0.301, 0.044, 0.912] [[C]] [-0.087, 0.215, 0.803] [[D]] [0.118, -0.276, 1.021]",
    "[[A]] move forward [[B]] move backward [[C]] move left slightly and move up [[D]] move right and move down",
    "Think about the question inside <think></think>, then give the answer inside <answer></answer>.",
    "<think> The gripper is above the cup, so it should move down. </think> <answer> [[A]] </answer>",
    "<think> The button is to the right. </think> <answer> [[B]] </answer>",
    "<think> Compare the options with the image. </think> <answer> [[C]] </answer>",
    "<think> The lid handle is higher. </think> <answer> [[D]] </answer>",
    "<answer> [0.312, 0.087, 0.955] </answer> <answer> [-0.041, -0.193, 1.208] </answer>",
    "Plan: reach the cup, grasp it, lift it. Subtask: reach the cup. Move: move down slightly. Answer: [[A]]",
    "Plan: approach the button, press it. Subtask: press the button. Move: move down. Answer: [[B]]",
    "0 1 2 3 4 5 6 7 8 9 0.0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 -0.1 -0.2 -0.3 1.0 1.1 1.2",
    "move forward, move backward, move left, move right, move up, move down, slightly, and, stay",
    "A B C D a b c d yes no the gripper robot cup button bin phone base lid saucepan rubbish",
]


def _corpus() -> list[str]:
    lines = []
    for rep in range(6):
        lines.extend(_CORPUS_LINES)
        lines.extend(f"[{0.05 * i - 0.3 + 0.001 * rep:.3f}, {0.731 - 0.07 * i:.3f}, {1.0 + 0.013 * i:.3f}]"
                     for i in range(12))
    return lines


def qa_corpus(qa_dir) -> list[str]:
    """The texts a tokenizer for ``qa_dir`` should know: every prompt and every SFT target."""
    texts = []
    with open(Path(qa_dir) / "questions.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                texts.extend(q[k] for k in ("prompt", "sft_direct", "sft_cot") if isinstance(q.get(k), str))
    return texts


def build_tokenizer(vocab_size: int = 512, corpus: list[str] | None = None):
    """Train a byte-level BPE; returns a ``PreTrainedTokenizerFast``.

    Without ``corpus``: on the built-in few KB, split into words first (the tokenizer tests and the
    demo use). With ``corpus``: merges may cross spaces (a fixed sentence becomes one or a few tokens)
    and every digit stays its own token, so numbers read digit by digit as in Qwen's tokenizer.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    if corpus is None:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
        **({} if corpus is None else {"max_token_length": 64}),
    )
    tok.train_from_iterator(_corpus() if corpus is None else corpus, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=SPECIAL_TOKENS[1:],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.padding_side = "left"
    return fast


def tiny_config(tokenizer, text_hidden: int = 64, layers: int = 2, vision_depth: int = 2):
    """A Qwen2_5_VLConfig small enough for a CPU test; token ids taken from ``tokenizer``."""
    from transformers import Qwen2_5_VLConfig

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    heads = 4
    head_dim = text_hidden // heads
    # mrope_section must sum to head_dim / 2 (temporal, height, width)
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    mrope = [t, h, half - t - h]
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=text_hidden,
        intermediate_size=2 * text_hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope},
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        tie_word_embeddings=False,
    )
    vision = dict(
        depth=vision_depth,
        hidden_size=32,
        intermediate_size=64,
        num_heads=2,
        out_hidden_size=text_hidden,
        patch_size=14,
        spatial_merge_size=2,
        temporal_patch_size=2,
        window_size=112,
        fullatt_block_indexes=[vision_depth - 1],
    )
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )


def build_processor(tokenizer, image_pixels: int = 56 * 56):
    """Qwen2_5_VLProcessor around ``tokenizer``; PIL image processor, no video processor (no torchvision)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from robotr1_train.models import make_processor

    image_processor = Qwen2VLImageProcessorPil(min_pixels=image_pixels, max_pixels=image_pixels)
    return make_processor(tokenizer, image_processor, CHAT_TEMPLATE)


def build_tiny_vlm(out_dir, seed: int = 0, corpus: list[str] | None = None, vocab_size: int = 512,
                   text_hidden: int = 64, layers: int = 2) -> str:
    """Write the tiny Qwen2.5-VL, tokenizer and processor to ``out_dir``; return the path (str).

    ``corpus``/``vocab_size``: see ``build_tokenizer``; ``text_hidden``/``layers``: the language
    model's width and depth. Idempotent: when ``out_dir`` already holds a tiny model built with the
    same seed, recipe version and settings, nothing is rebuilt.
    """
    import hashlib

    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    out = Path(out_dir)
    stamp = out / "robotr1_tiny.json"
    want = {"seed": int(seed), "version": TINY_VERSION}
    if corpus is not None:
        digest = hashlib.sha256("\n".join(corpus).encode()).hexdigest()[:16]
        want.update(corpus_sha256=digest, vocab_size=int(vocab_size))
    elif vocab_size != 512:
        want["vocab_size"] = int(vocab_size)
    if (text_hidden, layers) != (64, 2):
        want.update(text_hidden=int(text_hidden), layers=int(layers))
    if stamp.exists():
        try:
            if json.loads(stamp.read_text()) == want:
                return str(out)
        except (OSError, ValueError):
            pass
    out.mkdir(parents=True, exist_ok=True)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # noqa: BLE001
        pass
    tokenizer = build_tokenizer(vocab_size, corpus)
    config = tiny_config(tokenizer, text_hidden=text_hidden, layers=layers)
    devnull_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = Qwen2_5_VLForConditionalGeneration(config)
    finally:
        torch.random.set_rng_state(devnull_state)
    model.generation_config.pad_token_id = config.text_config.pad_token_id
    model.generation_config.eos_token_id = config.text_config.eos_token_id
    model.generation_config.bos_token_id = config.text_config.bos_token_id
    model.save_pretrained(out)
    from robotr1_train.models import save_processor

    save_processor(build_processor(tokenizer), out)
    tmp = stamp.with_suffix(".tmp")
    tmp.write_text(json.dumps(want))
    os.replace(tmp, stamp)
    return str(out)


# ----------------------------------------------------------------------------------------------
# synthetic questions (tests, bench): no QA store or shards needed


def synthetic_records(n: int = 4, images_per_prompt=1, types=("waypoint", "current", "movement")) -> list[dict]:
    """``n`` Robot-R1-shaped MCQA records; ``images_per_prompt`` is an int or a list (cycled)."""
    counts = images_per_prompt if isinstance(images_per_prompt, (list, tuple)) else [images_per_prompt]
    out = []
    for i in range(n):
        k = int(counts[i % len(counts)])
        imgs = " ".join(["<image>"] * k)
        letter = "ABCD"[i % 4]
        out.append({
            "id": f"syn-{i:04d}",
            "type": types[i % len(types)],
            "task": "pick_up_cup", "variation": 0, "shard": "synthetic.h5", "episode": i, "frame": 0,
            "camera": "front",
            "prompt": (f"You are Franka Robot Assistant. {imgs} Current Robot State Position: "
                       f"[0.{i % 10}00, 0.100, 1.000]. Which option? [[A]] [[B]] [[C]] [[D]]"),
            "options": {c: f"[0.{j}00, 0.000, 1.000]" for j, c in enumerate("ABCD")},
            "answer": letter,
            "target": None,
            "sft_direct": f"<answer> [[{letter}]] </answer>",
            "sft_cot": f"<think> Plan: reach. Subtask: reach. Move: move down. Answer: [[{letter}]] </think> "
                       f"<answer> [[{letter}]] </answer>",
            "image_size": [56, 56],
        })
    return out


def synthetic_image_loader(record: dict, qa_dir=None):
    """Deterministic (56, 56, 3) uint8 images, one per ``<image>`` in the prompt."""
    import zlib

    import numpy as np

    n = record["prompt"].count("<image>")
    seed = zlib.crc32(str(record.get("id")).encode())
    rng = np.random.default_rng(seed)
    imgs = [rng.integers(0, 256, size=(56, 56, 3), dtype=np.uint8) for _ in range(n)]
    return imgs[0] if n == 1 else imgs


def prompt_record_text(prompt_messages) -> str:
    """The text parts of a (TRL) conversational prompt, joined: identifies its record in tests."""
    parts = []
    for m in prompt_messages:
        content = m.get("content")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(p.get("text") or "" for p in content if p.get("type") == "text")
    return "".join(parts)


def scripted_rollout(records, answer_for):
    """A TRL ``rollout_func`` that answers each prompt with ``answer_for(record, k)`` instead of sampling.

    ``k`` counts the completions of that record within the call. Tests use it to get rewards they can
    compute by hand (a tiny random model never answers correctly), through TRL's real scoring,
    advantage, loss and logging path.
    """
    by_text = {}
    for r in records:
        by_text["".join(r["prompt"].split("<image>"))] = r

    def rollout(prompts, trainer):
        prompt_ids = trainer._tokenize_prompts(prompts)[0]
        tok = trainer.processing_class.tokenizer
        seen: dict = {}
        comps = []
        for p in prompts:
            rec = by_text[prompt_record_text(p)]
            k = seen.get(rec["id"], 0)
            seen[rec["id"]] = k + 1
            ids = list(tok(answer_for(rec, k), add_special_tokens=False)["input_ids"]) + [tok.eos_token_id]
            comps.append(ids)
        return {"prompt_ids": [list(p) for p in prompt_ids], "completion_ids": comps,
                "logprobs": [[0.0] * len(c) for c in comps]}

    return rollout
