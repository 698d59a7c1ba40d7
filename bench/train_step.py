"""GRPO step benchmark through the TRL engine: rollout / scoring / update time, tokens/s, peak memory.

    python bench/train_step.py --tiny                  # CPU, tiny offline Qwen2.5-VL (seconds; tested)
    python bench/train_step.py --config-7b --lora      # GPU: random-init Qwen2.5-VL-7B shapes, LoRA, G=5, bf16
    python bench/train_step.py --config-3b --lora      # GPU: 3B shapes
    python bench/train_step.py --model PATH_OR_ID      # any checkpoint

Runs ``robotr1_train.trl_train.build_grpo_trainer`` (TRL's GRPOTrainer, our dataset and reward
functions) for ``--steps`` timed optimiser steps after one warm-up step. The split: *rollout* is
TRL's ``_generate`` (sampling), *scoring* its ``_calculate_rewards`` (our reward functions), *update*
the rest of the step (log-probs, loss, backward, optimiser). The 7B/3B models are randomly
initialised at the published Qwen2.5-VL configurations (no weights downloaded), in bf16 on the GPU.
A random model rarely emits the end-of-turn token, so completions run to ``--response-length``: a
worst case for memory. Images are 224x224 (64 visual tokens) like the paper's front camera; the tiny
model uses 56x56. Full fine-tuning of a random model runs with kl_coef 0 (TRL would rebuild the
reference from a saved path the random model does not have). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# Published Qwen2.5-VL shapes (config.json of Qwen/Qwen2.5-VL-{7B,3B}-Instruct).
SHAPES = {
    "7b": dict(text=dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                         num_key_value_heads=4, vocab_size=152064, mrope=[16, 24, 24], tie=False),
               vision_out=3584),
    "3b": dict(text=dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
                         num_key_value_heads=2, vocab_size=151936, mrope=[16, 24, 24], tie=True),
               vision_out=2048),
}


def big_config(size: str, tokenizer, layers: int | None = None):
    from transformers import Qwen2_5_VLConfig

    from robotr1_train.testing import SPECIAL_TOKENS

    s = SHAPES[size]
    t = dict(s["text"])
    mrope, tie = t.pop("mrope"), t.pop("tie")
    if layers:  # a shallower copy of the same widths: checks the script's path on a CPU in seconds
        t["num_hidden_layers"] = layers
    ids = {k: tokenizer.convert_tokens_to_ids(k) for k in SPECIAL_TOKENS}
    text = dict(t, max_position_embeddings=128000,
                rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": mrope},
                bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    vision = dict(depth=layers or 32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=s["vision_out"],
                  patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                  fullatt_block_indexes=[7, 15, 23, 31] if not layers else [layers - 1], tokens_per_second=2)
    return Qwen2_5_VLConfig(text_config=text, vision_config=vision, image_token_id=ids["<|image_pad|>"],
                            video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
                            vision_end_token_id=ids["<|vision_end|>"], tie_word_embeddings=tie)


def build_policy(args, workdir):
    import torch

    from robotr1_train.models import load_model_and_processor
    from robotr1_train.testing import build_processor, build_tiny_vlm, build_tokenizer

    cuda = torch.cuda.is_available()
    if args.size:
        from transformers import Qwen2_5_VLForConditionalGeneration

        tok = build_tokenizer()
        cfg = big_config(args.size, tok, args.layers)
        dtype = torch.bfloat16 if cuda else torch.float32
        with torch.device("cuda" if cuda else "cpu"):
            model = Qwen2_5_VLForConditionalGeneration._from_config(cfg, dtype=dtype)
        model.generation_config.eos_token_id = cfg.text_config.eos_token_id
        model.generation_config.pad_token_id = cfg.text_config.pad_token_id
        name = f"random Qwen2.5-VL-{args.size.upper()}" + (f" ({args.layers} layers)" if args.layers else "")
        return model, build_processor(tok, image_pixels=224 * 224), name
    path = args.model or build_tiny_vlm(os.path.join(workdir, "tiny"), seed=0)
    lp = load_model_and_processor(path, dtype="fp32", device="cpu", gradient_checkpointing=False)
    return lp.model, lp.processor, ("tiny Qwen2.5-VL" if not args.model else args.model)


class _Timer:
    """Wraps trainer methods to add their wall time to a bucket."""

    def __init__(self):
        self.t = {"rollout": 0.0, "scoring": 0.0}

    def wrap(self, obj, name, bucket):
        fn = getattr(obj, name)

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.t[bucket] += time.perf_counter() - t0

        setattr(obj, name, timed)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--tiny", dest="size", action="store_const", const=None, help="the tiny offline model (CPU)")
    g.add_argument("--config-7b", dest="size", action="store_const", const="7b")
    g.add_argument("--config-3b", dest="size", action="store_const", const="3b")
    g.add_argument("--model", default=None)
    ap.add_argument("--lora", action="store_true")
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--G", type=int, default=5, help="completions per prompt")
    ap.add_argument("--prompts", type=int, default=2, help="prompts per step")
    ap.add_argument("--response-length", type=int, default=None, help="max new tokens (tiny: 32, big: 256)")
    ap.add_argument("--micro-batch-size", type=int, default=None)
    ap.add_argument("--steps", type=int, default=2, help="timed steps (after one warm-up step)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--layers", type=int, default=None,
                    help="with --config-*: this many text and vision layers instead of the published depth "
                         "(a quick check of the path; the numbers are then not the model's)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from transformers import TrainerCallback

    from robotr1_train.config import GRPOConfig
    from robotr1_train.testing import synthetic_image_loader, synthetic_records
    from robotr1_train.trl_train import build_grpo_trainer

    big = args.size is not None
    cuda = torch.cuda.is_available()
    resp = args.response_length or (256 if big else 32)
    mb = args.micro_batch_size or (args.G if big else args.G * args.prompts)

    def loader(record, qa_dir=None):
        import numpy as np

        img = synthetic_image_loader(record, qa_dir)
        if big:  # 224x224 like the paper's front camera
            img = np.kron(img, np.ones((4, 4, 1), dtype=img.dtype))
        return img

    timer = _Timer()
    steps = []

    class StepClock(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            self.t0, self.before = time.perf_counter(), dict(timer.t)

        def on_step_end(self, a, state, control, **kw):
            wall = time.perf_counter() - self.t0
            d = {k: timer.t[k] - self.before[k] for k in timer.t}
            steps.append({"step_s": wall, "rollout_s": d["rollout"], "scoring_s": d["scoring"],
                          "update_s": wall - d["rollout"] - d["scoring"],
                          "peak": torch.cuda.max_memory_allocated() if cuda else _rss()})

    with tempfile.TemporaryDirectory() as work:
        model, proc, name = build_policy(args, work)
        peft_config = None
        if args.lora:
            from peft import LoraConfig

            from robotr1_train.models import DEFAULT_LORA_TARGETS

            peft_config = LoraConfig(r=args.lora_r, lora_alpha=2 * args.lora_r, target_modules=DEFAULT_LORA_TARGETS,
                                     task_type="CAUSAL_LM")
        cfg = GRPOConfig(num_generations=args.G, rollout_batch_size=args.prompts, global_batch_size=args.prompts,
                         micro_batch_size=mb, max_response_length=resp, max_steps=args.steps + 1, epochs=1000,
                         save_steps=0, progress_bar=False, report_to="none", log_completions=False,
                         learning_rate=1e-6, lora=args.lora, seed=0, kl_coef=1e-2 if args.lora else 0.0)
        records = synthetic_records(max(args.prompts, 2))
        tr = build_grpo_trainer(cfg, model, proc, peft_config, records, None, os.path.join(work, "run"),
                                image_loader=loader, cuda=cuda)
        timer.wrap(tr, "_generate", "rollout")
        timer.wrap(tr, "_calculate_rewards", "scoring")
        tr.add_callback(StepClock())
        tr.train()
        logs = [r for r in tr.state.log_history if "completions/mean_length" in r][1:]
        rows = steps[1:]
        mean = lambda k: sum(r[k] for r in rows) / len(rows)  # noqa: E731
        trainable = sum(p.numel() for p in tr.model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in tr.model.parameters())
        comp_len = sum(r["completions/mean_length"] for r in logs) / max(1, len(logs))
        seqs = args.prompts * args.G
        out = {
            "engine": "trl.GRPOTrainer", "model": name, "device": "cuda" if cuda else "cpu",
            "gpu": torch.cuda.get_device_name() if cuda else None, "dtype": str(next(tr.model.parameters()).dtype),
            "lora": args.lora, "G": args.G, "prompts_per_step": args.prompts, "max_response_length": resp,
            "params_total": total, "params_trainable": trainable, "torch_threads": args.threads,
            "step_s": mean("step_s"), "rollout_s": mean("rollout_s"), "scoring_s": mean("scoring_s"),
            "update_s": mean("update_s"), "response_length_mean": comp_len,
            "completion_tokens_per_s": seqs * comp_len / mean("step_s"),
            "rollout_tokens_per_s": seqs * comp_len / max(mean("rollout_s"), 1e-9),
            "peak_memory_gib": max(r["peak"] for r in rows) / 2**30,
            "peak_memory_kind": "cuda max_memory_allocated" if cuda else "process max RSS",
        }
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    return 0


def _rss() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


if __name__ == "__main__":
    sys.exit(main())
