"""Run EasyR1's own code on an ``export-qa --format easyr1`` export (a development check, not a test).

EasyR1 pins transformers < 5 and needs ray, so this runs in a throwaway environment beside an
EasyR1 checkout, never in robotr1's own venv:

    python3.11 -m venv /tmp/easyr1-venv
    /tmp/easyr1-venv/bin/pip install torch==2.13.0 'transformers>=4.54,<5' datasets jinja2 pillow \\
        'omegaconf==2.3.0' codetiming tensordict pyyaml ray torchdata
    /tmp/easyr1-venv/bin/pip install --no-deps /path/to/robotr1        # what reward.py imports
    robotr1-data export-qa QA --format easyr1 --out EXPORT               # in robotr1's venv
    robotr1-train make-tiny-model --out TINY                             # in robotr1's venv
    /tmp/easyr1-venv/bin/python scripts/easyr1_check.py --easyr1 EASYR1_SRC --export EXPORT --qa QA --tiny TINY

It checks, with EasyR1's classes: the config merges into ``PPOConfig`` (unknown keys fail), the
dataset loads both splits and renders our prompt exactly as ``robotr1_train.data`` does, a 224x224
image is 64 image tokens, ``collate_fn`` + ``DataProto.concat`` join batches of every question
type, and ``AutoRewardManager`` loading ``reward.py`` scores tokenised responses exactly as
``robotr1_train.rewards.reward`` scores the full records. Stubbed, because they need a GPU or
torchvision and touch none of this: vLLM's rollout module and qwen-vl-utils' video reader.
"""

import argparse
import json
import sys
import types


def _stub_gpu_only_modules():
    vp = types.ModuleType("qwen_vl_utils.vision_process")
    vp.fetch_video = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("video is not used"))
    sys.modules["qwen_vl_utils"] = types.ModuleType("qwen_vl_utils")
    sys.modules["qwen_vl_utils.vision_process"] = vp
    vr = types.ModuleType("verl.workers.rollout.vllm_rollout_spmd")
    vr.vLLMRollout = object
    sys.modules["verl.workers.rollout.vllm_rollout_spmd"] = vr


def _tiny_processor(tiny):
    """The tiny model's tokenizer and image processor as transformers 4.x classes (it was saved by 5.x)."""
    from transformers import Qwen2_5_VLProcessor, Qwen2TokenizerFast, Qwen2VLImageProcessor

    cfg = json.load(open(f"{tiny}/tokenizer_config.json"))
    tok = Qwen2TokenizerFast(tokenizer_file=f"{tiny}/tokenizer.json",
                             additional_special_tokens=cfg["extra_special_tokens"],
                             **{k: v for k, v in cfg.items() if k.endswith("_token")})
    orig = Qwen2_5_VLProcessor.check_argument_for_proper_class

    def check(self, name, arg):  # images only: no torchvision, so no video processor
        return None if name == "video_processor" and arg is None else orig(self, name, arg)

    Qwen2_5_VLProcessor.check_argument_for_proper_class = check
    proc = Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor.from_pretrained(tiny), tokenizer=tok,
                               video_processor=None, chat_template=open(f"{tiny}/chat_template.jinja").read())
    return tok, proc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--easyr1", required=True, help="EasyR1 source checkout")
    ap.add_argument("--export", required=True, help="export-qa --format easyr1 output directory")
    ap.add_argument("--qa", required=True, help="the QA store it was exported from")
    ap.add_argument("--tiny", required=True, help="robotr1-train make-tiny-model directory")
    a = ap.parse_args()
    sys.path.insert(0, a.easyr1)
    _stub_gpu_only_modules()

    import torch
    from omegaconf import OmegaConf
    from verl.protocol import DataProto
    from verl.trainer.config import PPOConfig
    from verl.utils.dataset import RLHFDataset, collate_fn
    from verl.workers.reward import AutoRewardManager

    from robotr1_data.qa.store import read_records
    from robotr1_train import rewards
    from robotr1_train.data import prompt_messages

    cfg = OmegaConf.merge(OmegaConf.structured(PPOConfig()), OmegaConf.load(f"{a.export}/config.yaml"))
    cfg = OmegaConf.to_object(cfg)
    cfg.deep_post_init()
    act = cfg.worker.actor
    print("config:", cfg.data.min_pixels, cfg.data.max_pixels, cfg.data.format_prompt, act.clip_ratio_low,
          act.clip_ratio_high, act.kl_penalty, act.use_kl_loss, act.kl_coef, cfg.worker.rollout.n)
    assert cfg.data.format_prompt is None and act.use_kl_loss and act.kl_penalty == "low_var_kl"
    assert (act.clip_ratio_low, act.clip_ratio_high, act.kl_coef, cfg.worker.rollout.n) == (0.2, 0.2, 0.01, 5)

    tok, proc = _tiny_processor(a.tiny)
    d = cfg.data
    sets = {}
    for split, path in (("train", d.train_files), ("val", d.val_files)):
        sets[split] = RLHFDataset(
            data_path=path, tokenizer=tok, processor=proc, prompt_key=d.prompt_key, answer_key=d.answer_key,
            image_key=d.image_key, video_key=d.video_key, image_dir=d.image_dir,
            max_prompt_length=d.max_prompt_length, truncation="right", format_prompt=d.format_prompt,
            min_pixels=d.min_pixels, max_pixels=d.max_pixels, filter_overlong_prompts=d.filter_overlong_prompts,
            filter_overlong_prompts_workers=1)
        n_rows = sum(1 for _ in open(path))
        print(f"{split}: {len(sets[split])} of {n_rows} rows kept by EasyR1's overlong filter")
        assert len(sets[split]) == n_rows

    recs = {r["id"]: r for r in read_records(a.qa)}
    for split, ds in sets.items():
        for i in range(len(ds)):
            row = ds.dataset[i]
            ours = proc.apply_chat_template(prompt_messages(recs[row["id"]]), tokenize=False, add_generation_prompt=True)
            theirs = proc.apply_chat_template(ds._build_messages(row), tokenize=False, add_generation_prompt=True)
            assert ours == theirs, row["id"]
    ex = sets["train"][0]
    n_img = int((ex["input_ids"] == proc.image_token_id).sum())
    print("prompts identical to robotr1's; image tokens in the first prompt:", n_img)

    train, val = sets["train"], sets["val"]
    parts = [collate_fn([train[i] for i in range(0, min(8, len(train)))]),
             collate_fn([train[i] for i in range(min(8, len(train)), len(train))]),
             collate_fn([val[i] for i in range(len(val))])]
    whole = DataProto.concat([DataProto.from_single_dict(dict(p)) for p in parts if len(p["id"])])
    print("DataProto.concat:", len(whole), "rows, types", sorted(set(whole.non_tensor_batch["type"])))

    mgr = AutoRewardManager(cfg.worker.reward, tok)
    ids = list(whole.non_tensor_batch["id"])
    kinds = lambda r: [r["sft_cot"], r["sft_direct"], "garbage",  # noqa: E731
                       "<think>x</think><answer> [0.3, 0.0, 1.0] </answer>", "<think>x</think><answer> [[A]] </answer>"]
    texts = [kinds(recs[rid])[i % 5] for i, rid in enumerate(ids)]
    enc = [tok.encode(t, add_special_tokens=False) for t in texts]
    width = max(len(e) for e in enc)
    responses = torch.full((len(enc), width), tok.pad_token_id or 0, dtype=torch.long)
    mask = torch.zeros((len(enc), width), dtype=torch.long)
    for i, e in enumerate(enc):
        responses[i, :len(e)] = torch.tensor(e)
        mask[i, :len(e)] = 1
    batch = DataProto.from_single_dict({"responses": responses, "response_mask": mask,
                                        "ground_truth": whole.non_tensor_batch["ground_truth"]})
    reward_tensor, metrics = mgr.compute_reward(batch)
    for i, rid in enumerate(ids):
        want = rewards.reward(tok.decode(enc[i], skip_special_tokens=True), recs[rid])
        assert abs(float(reward_tensor[i, len(enc[i]) - 1]) - want["total"]) < 1e-6
        assert metrics["format"][i] == want["format"] and metrics["accuracy"][i] == want["accuracy"]
    print(f"AutoRewardManager == robotr1_train.rewards on {len(ids)} responses; overall values",
          sorted({round(float(x), 3) for x in metrics["overall"]}))
    print("OK")


if __name__ == "__main__":
    main()
