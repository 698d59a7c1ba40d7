"""GRPO/SFT with the tiny offline Qwen2.5-VL: log-probs vs generate, KL, learning, resume, LoRA."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from robotr1_train.config import GRPOConfig, SFTConfig  # noqa: E402
from robotr1_train.testing import (build_tiny_vlm, digit_reward, synthetic_image_loader,  # noqa: E402
                                   synthetic_records)

pytestmark = pytest.mark.train
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny_vlm"), seed=0)


def load(path, lora=False):
    from robotr1_train.models import load_model_and_processor

    return load_model_and_processor(path, lora=lora, lora_r=4, lora_alpha=8, dtype="fp32", device="cpu")


def tiny_cfg(**kw):
    base = dict(num_generations=4, rollout_batch_size=4, global_batch_size=4, micro_batch_size=8,
                generation_batch_size=4, max_response_length=6, learning_rate=1e-2, epochs=100,
                max_steps=2, save_steps=0, progress_bar=False, tensorboard=False, seed=0)
    base.update(kw)
    return GRPOConfig(**base)


def make_trainer(path, out, cfg, records=None, lora=False, reward=digit_reward):
    from robotr1_train.grpo import GRPOTrainer

    lp = load(path, lora=lora)
    recs = records or synthetic_records(4, images_per_prompt=[1, 2])
    return GRPOTrainer(cfg, lp.model, lp.processor, recs, str(out), image_loader=synthetic_image_loader,
                       reward_fn=reward, lora=lora)


def metrics(out):
    with open(f"{out}/metrics.jsonl") as f:
        return [json.loads(line) for line in f]


def test_logprobs_match_generate_scores_multi_image_left_padded(tiny_path):
    from robotr1_train.data import collate_sequences, encode_prompts, split_prompt_batch
    from robotr1_train.grpo import truncate_at_eos
    from robotr1_train.logprobs import completion_logprobs, vision_token_ids

    lp = load(tiny_path)
    model, proc = lp.model.eval(), lp.processor
    recs = synthetic_records(3, images_per_prompt=[1, 3, 2])
    recs[1]["prompt"] += " and a much longer question text so the prompts differ in length by a lot"
    imgs = [synthetic_image_loader(r) for r in recs]
    imgs = [[i] if isinstance(i, np.ndarray) else i for i in imgs]
    enc = encode_prompts(proc, recs, imgs)
    assert enc["attention_mask"][:, 0].tolist().count(0) >= 1  # left padding present
    assert enc["image_grid_thw"].shape[0] == 6
    suppress = vision_token_ids(model)
    temp = 0.7
    torch.manual_seed(0)
    out = model.generate(**enc, do_sample=True, temperature=temp, top_k=0, top_p=1.0, max_new_tokens=10,
                         output_logits=True, return_dict_in_generate=True, suppress_tokens=suppress,
                         pad_token_id=proc.tokenizer.pad_token_id)
    P = enc["input_ids"].shape[1]
    new = out.sequences[:, P:]
    eos = {proc.tokenizer.eos_token_id}
    comps = [truncate_at_eos(row, eos) for row in new.tolist()]
    logits = torch.stack(out.logits, 1).float() / temp
    logits[..., suppress] = float("-inf")
    want = torch.log_softmax(logits, -1).gather(-1, new.unsqueeze(-1)).squeeze(-1)
    batch = collate_sequences(split_prompt_batch(enc), comps, proc.tokenizer.pad_token_id)
    with torch.no_grad():
        got = completion_logprobs(model, batch, temperature=temp, chunk_size=3, suppress_ids=suppress)
    mask = batch["completion_mask"].bool()
    C = mask.shape[1]
    assert mask.sum() > 0
    assert torch.allclose(got[mask], want[:, :C][mask], atol=1e-4), (got[mask] - want[:, :C][mask]).abs().max()
    # the same sequences scored one at a time agree with the padded batch
    for i in range(3):
        single = collate_sequences(split_prompt_batch(enc)[i:i + 1], comps[i:i + 1], proc.tokenizer.pad_token_id)
        with torch.no_grad():
            g1 = completion_logprobs(model, single, temperature=temp, suppress_ids=suppress)
        n = len(comps[i])
        assert torch.allclose(g1[0, :n], got[i, :n], atol=1e-4)


def test_kl_zero_when_policy_equals_reference(tiny_path, tmp_path):
    tr = make_trainer(tiny_path, tmp_path / "full", tiny_cfg(max_steps=1, kl_coef=0.05, learning_rate=0.0))
    assert tr.ref_model is not None
    m = tr.train_step()
    assert m["actor/kl"] == 0.0
    assert m["actor/clip_frac"] == 0.0 and abs(m["actor/ratio_mean"] - 1.0) < 1e-6
    trl = make_trainer(tiny_path, tmp_path / "lora", tiny_cfg(max_steps=1, kl_coef=0.05), lora=True)
    assert trl.ref_model is None  # the reference is the base with the adapter disabled: no copy
    assert trl.train_step()["actor/kl"] == 0.0  # LoRA B starts at zero: policy == base


def test_grpo_learns_a_learnable_reward(tiny_path, tmp_path):
    cfg = tiny_cfg(num_generations=8, max_steps=16, kl_coef=0.0, micro_batch_size=16)
    tr = make_trainer(tiny_path, tmp_path, cfg)
    tr.train()
    rewards = [r["reward/mean"] for r in metrics(tmp_path)]
    assert len(rewards) == 16
    start, end = np.mean(rewards[:3]), np.mean(rewards[-3:])
    assert end > start + 0.3 and end > 0.5, rewards
    for key in ("reward/std", "accuracy", "response_length/mean", "throughput/tokens_per_s", "time/step_s",
                "actor/clip_frac", "reward_by_type/waypoint/mean", "accuracy_by_type/current"):
        assert key in metrics(tmp_path)[-1], key


@pytest.mark.parametrize("estimator", ["rloo", "reinforce_pp"])
def test_other_advantage_estimators_run(tiny_path, tmp_path, estimator):
    tr = make_trainer(tiny_path, tmp_path, tiny_cfg(max_steps=1, advantage_estimator=estimator, kl_coef=0.01))
    m = tr.train_step()
    assert np.isfinite(m["actor/loss"]) and m["actor/grad_norm"] > 0


def _params(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_resume_is_bit_exact(tiny_path, tmp_path):
    # several updates per step, mu = 2 passes, KL on: exercises old/ref log-probs and the optimiser state
    kw = dict(global_batch_size=2, micro_batch_size=3, num_iterations=2, kl_coef=0.02, learning_rate=3e-3)
    straight = make_trainer(tiny_path, tmp_path / "a", tiny_cfg(max_steps=4, **kw))
    straight.train()
    split = make_trainer(tiny_path, tmp_path / "b", tiny_cfg(max_steps=2, save_steps=2, **kw))
    split.train()
    torch.manual_seed(12345)  # the resumed run must not depend on the process's RNG
    resumed = make_trainer(tiny_path, tmp_path / "b", tiny_cfg(max_steps=4, save_steps=2, **kw))
    resumed.train(resume=True)
    assert resumed.step == 4
    a, b = _params(straight.policy), _params(resumed.policy)
    assert a.keys() == b.keys()
    for n in a:
        assert torch.equal(a[n], b[n]), n
    ra = [r["reward/mean"] for r in metrics(tmp_path / "a")]
    rb = [r["reward/mean"] for r in metrics(tmp_path / "b")]
    assert ra == rb and len(rb) == 4


def test_lora_leaves_base_weights_untouched(tiny_path, tmp_path):
    tr = make_trainer(tiny_path, tmp_path, tiny_cfg(max_steps=2, kl_coef=0.01, learning_rate=5e-2), lora=True)
    before = _params(tr.policy)
    tr.train()
    after = _params(tr.policy)
    lora_names = [n for n in before if "lora_" in n]
    base_names = [n for n in before if "lora_" not in n]
    assert lora_names and base_names
    assert all(torch.equal(before[n], after[n]) for n in base_names)
    assert any(not torch.equal(before[n], after[n]) for n in lora_names)
    d = tr.save_model()
    import os

    assert os.path.isfile(os.path.join(d, "adapter_config.json"))


def test_sft_lowers_target_loss(tiny_path, tmp_path):
    from robotr1_train.sft import SFTTrainer

    lp = load(tiny_path)
    cfg = SFTConfig(target="direct", global_batch_size=4, micro_batch_size=4, learning_rate=1e-2, epochs=20,
                    max_steps=12, save_steps=0, progress_bar=False, tensorboard=False, seed=0)
    tr = SFTTrainer(cfg, lp.model, lp.processor, synthetic_records(4, images_per_prompt=[1, 2]), str(tmp_path),
                    image_loader=synthetic_image_loader)
    tr.train()
    losses = [r["sft/loss"] for r in metrics(tmp_path)]
    assert losses[-1] < 0.5 * losses[0], losses


def test_real_reward_module_plugs_in(tiny_path, tmp_path):
    rewards = pytest.importorskip("robotr1_train.rewards")
    tr = make_trainer(tiny_path, tmp_path, tiny_cfg(max_steps=1), reward=rewards.reward)
    m = tr.train_step()
    assert "reward/format" in m and "accuracy" in m
