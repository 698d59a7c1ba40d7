"""The TRL engine on the tiny offline VLM (CPU): dataset, rewards, config mapping, GRPO/RLOO/SFT with
LoRA and full fine-tuning, resume past a truncated checkpoint, per-type metrics across two processes."""

import json
import os
import shutil
import subprocess
import sys
import warnings

import pytest
import yaml

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from robotr1_train.config import GRPOConfig, SFTConfig, build_config  # noqa: E402
from robotr1_train.testing import (build_tiny_vlm, scripted_rollout, synthetic_image_loader,  # noqa: E402
                                   synthetic_records)

pytestmark = pytest.mark.train
torch.set_num_threads(1)
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

ROOT = os.path.join(os.path.dirname(__file__), "..")
CONFIG = os.path.join(ROOT, "configs", "robot_r1.yaml")


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny_vlm"), seed=0)


def answer_even_right(rec, k):
    """Completion k of a record: right answer (with format) when k is even, wrong letter otherwise."""
    letter = rec["answer"] if k % 2 == 0 else ("A" if rec["answer"] != "A" else "B")
    return f"<think> reach </think> <answer> [[{letter}]] </answer>"


def small_grpo(**kw):
    base = dict(num_generations=2, rollout_batch_size=2, global_batch_size=2, micro_batch_size=4,
                max_response_length=24, learning_rate=1e-2, max_steps=1, save_steps=0, progress_bar=False,
                report_to="none", log_completions=False, seed=0)
    base.update(kw)
    return GRPOConfig(**base)


# ---------------------------------------------------------------------------------------------- data


def test_dataset_prompt_is_byte_identical_to_eval_prompt(tiny_path, tmp_path):
    from datasets import Image
    from trl.data_utils import apply_chat_template, prepare_multimodal_messages

    from robotr1_train.data import prompt_text
    from robotr1_train.models import load_processor
    from robotr1_train.trl_data import qa_dataset

    proc = load_processor(tiny_path)
    recs = synthetic_records(3, images_per_prompt=[1, 2, 3])
    ds = qa_dataset(recs, None, str(tmp_path / "img"), image_loader=synthetic_image_loader)
    assert isinstance(ds.features["images"].feature, Image)
    for rec, row in zip(recs, ds):
        assert len(row["images"]) == rec["prompt"].count("<image>")
        # the exact path TRL's GRPOTrainer takes to render a prompt
        msgs = prepare_multimodal_messages(row["prompt"], images=row["images"])
        trl_text = apply_chat_template({"prompt": msgs}, proc)["prompt"]
        assert trl_text == prompt_text(proc, rec)  # what eval-qa / eval-sim send
        assert json.loads(row["record"]) == rec
    # images are the loader's pixels, losslessly
    import numpy as np

    got = np.asarray(ds[0]["images"][0].convert("RGB"))
    assert np.array_equal(got, synthetic_image_loader(recs[0]))


# ------------------------------------------------------------------------------------------- rewards


def test_reward_functions_sum_to_the_paper_reward_and_log_per_type():
    from robotr1_train.rewards import reward
    from robotr1_train.trl_rewards import make_reward_funcs

    funcs, weights = make_reward_funcs()
    assert [f.__name__ for f in funcs] == ["format", "accuracy"] and weights == [1.0, 1.0]
    recs = synthetic_records(3)
    texts = ["<think> a </think> <answer> [[%s]] </answer>" % recs[0]["answer"],  # format 1, accuracy 1
             "<answer> [[%s]] </answer>" % recs[1]["answer"],  # format 0, accuracy 1
             "garbage"]
    completions = [[{"role": "assistant", "content": t}] for t in texts]
    logged = []
    cols = {"record": [json.dumps(r) for r in recs], "type": [r["type"] for r in recs]}
    fmt = funcs[0](prompts=None, completions=completions, completion_ids=None, **cols)
    acc = funcs[1](prompts=None, completions=completions, completion_ids=None,
                   log_metric=lambda n, v: logged.append((n, v)), **cols)
    assert fmt == [1.0, 0.0, 0.0] and acc == [1.0, 1.0, 0.0]
    for t, r, f, a in zip(texts, recs, fmt, acc):
        assert f + a == reward(t, r)["total"]
    assert logged == [(f"accuracy/{recs[0]['type']}", 1.0), (f"reward/{recs[0]['type']}", 2.0),
                      (f"accuracy/{recs[1]['type']}", 1.0), (f"reward/{recs[1]['type']}", 1.0),
                      (f"accuracy/{recs[2]['type']}", 0.0), (f"reward/{recs[2]['type']}", 0.0)]
    # plain-string completions (TRL's non-conversational form) score the same
    assert funcs[1](completions=texts, **cols) == acc


# -------------------------------------------------------------------------------------------- config


def test_every_paper_setting_reaches_the_trl_config(tmp_path):
    from robotr1_train.trl_config import grpo_args, sft_args

    paper = yaml.safe_load(open(CONFIG))
    cfg = build_config(GRPOConfig, CONFIG, "grpo", {})
    world = 4  # the paper's 4 GPUs
    args = grpo_args(cfg, str(tmp_path), n_prompts=10_000, world_size=world, log=lambda m: None)
    g = paper["grpo"]
    G = g["num_generations"]
    # our key -> the TRL value it must produce
    expect = {
        "seed": ("seed", g["seed"]),
        "epochs": ("num_train_epochs", g["epochs"]),
        "num_generations": ("num_generations", 5),
        "temperature": ("temperature", 1.0),
        "top_p": ("top_p", 1.0),
        "top_k": ("top_k", 0),
        "learning_rate": ("learning_rate", 1e-6),
        "weight_decay": ("weight_decay", 1e-2),
        "max_grad_norm": ("max_grad_norm", 1.0),
        "lr_warmup_ratio": ("warmup_steps", 0.0),
        "kl_coef": ("beta", 1e-2),
        "clip_ratio": ("epsilon", 0.2),
        "clip_ratio_high": ("epsilon_high", 0.2),
        "loss_agg_mode": ("loss_type", "dapo"),
        "max_response_length": ("max_completion_length", 2048),
        "rollout_batch_size": ("generation_batch_size", 512 * G),
        "micro_batch_size": ("per_device_train_batch_size", 4),
        "num_iterations": ("num_iterations", 1),
        "std_normalize": ("scale_rewards", "group"),
        "save_steps": ("save_steps", 5),
    }
    for key, (field, want) in expect.items():
        assert getattr(args, field) == want, (key, field, getattr(args, field), want)
    # 128 prompts per update: micro x accumulation x processes = 128 x G completions
    assert args.per_device_train_batch_size * args.gradient_accumulation_steps * world == 128 * G
    # TRL derives steps_per_generation with the world size it sees (1 here, 4 under the launcher)
    assert args.steps_per_generation * args.per_device_train_batch_size * args.world_size == 512 * G
    assert args.reward_weights == [1.0, 1.0]
    assert args.bf16 is False  # CPU here; on CUDA bf16 mixed precision
    k4 = grpo_args(build_config(GRPOConfig, CONFIG, "grpo", {"top_k": 4}), str(tmp_path),
                   n_prompts=10_000, world_size=world, log=lambda m: None)
    assert k4.top_k == 4 and k4.temperature == 1.0  # reaches TRL's sampler, not just our config
    # keys with no TRL field of their own are checked where they act
    rest = set(g) - set(expect) - {"kl_estimator", "max_prompt_length", "global_batch_size",
                                   "advantage_estimator", "format_weight", "accuracy_weight", "lora"}
    assert not rest, f"paper keys without a check: {rest}"
    assert cfg.kl_estimator == "low_var_kl" and cfg.max_prompt_length == 2048 and cfg.lora is False
    s = paper["sft"]
    scfg = build_config(SFTConfig, CONFIG, "sft", {})
    sargs = sft_args(scfg, str(tmp_path), world_size=world, log=lambda m: None)
    assert sargs.learning_rate == s["learning_rate"] and sargs.num_train_epochs == s["epochs"]
    assert sargs.per_device_train_batch_size * sargs.gradient_accumulation_steps * world == s["global_batch_size"]
    assert sargs.max_length == s["max_prompt_length"] + s["max_response_length"]
    assert sargs.completion_only_loss is True and sargs.weight_decay == s["weight_decay"]
    # RLOO goes to TRL's RLOOTrainer config with the same batch mapping
    from trl import RLOOConfig

    rargs = grpo_args(build_config(GRPOConfig, CONFIG, "grpo", {"advantage_estimator": "rloo"}), str(tmp_path),
                      n_prompts=10_000, world_size=world, log=lambda m: None)
    assert isinstance(rargs, RLOOConfig) and rargs.beta == 1e-2 and rargs.generation_batch_size == 512 * G


def test_micro_batch_is_lowered_to_split_an_update(tmp_path):
    from robotr1_train.trl_config import grpo_args

    notes = []
    args = grpo_args(small_grpo(num_generations=5, rollout_batch_size=3, global_batch_size=3, micro_batch_size=4),
                     str(tmp_path), n_prompts=3, log=notes.append)
    assert args.per_device_train_batch_size == 3 and args.gradient_accumulation_steps == 5
    assert "micro_batch_size 4 -> 3" in notes[0]


# ------------------------------------------------------------------------------------------ training


def _params(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("lora", [False, True])
def test_grpo_full_and_lora(tiny_path, tmp_path, lora):
    from robotr1_train.models import load_model_and_processor
    from robotr1_train.trl_train import train_grpo

    recs = synthetic_records(2, images_per_prompt=[1, 2])
    before = _params(load_model_and_processor(tiny_path, dtype="fp32", device="cpu").model)
    out = str(tmp_path / "run")
    trainer, final = train_grpo(small_grpo(lora=lora, lora_r=4), tiny_path, recs, None, out,
                                image_loader=synthetic_image_loader,
                                rollout_func=scripted_rollout(recs, answer_even_right))
    rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    row = next(r for r in rows if "reward" in r)
    assert row["rewards/format/mean"] == 1.0 and row["rewards/accuracy/mean"] == 0.5 and row["reward"] == 1.5
    for t in {r["type"] for r in recs}:
        assert row[f"accuracy/{t}"] == 0.5 and row[f"reward/{t}"] == 1.5
    assert "kl" in row and row["grad_norm"] > 0
    assert trainer.ref_model is None if lora else trainer.ref_model is not None
    if lora:  # reference = the adapter-disabled base: no copy; only the adapter is saved
        assert os.path.isfile(os.path.join(final, "adapter_config.json"))
        assert not os.path.isfile(os.path.join(final, "model.safetensors"))
        base = trainer.model.get_base_model()
        assert all(torch.equal(p, before[n]) for n, p in _params(base).items() if n in before)
    else:
        from robotr1_train.policies.vlm import load_checkpoint

        model, _ = load_checkpoint(out, device="cpu")
        after = _params(model)
        assert any(not torch.equal(after[n], before[n]) for n in before)


def test_rloo_runs_on_trl_rlootrainer(tiny_path, tmp_path):
    from trl import RLOOTrainer

    from robotr1_train.trl_train import train_grpo

    recs = synthetic_records(2)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        trainer, final = train_grpo(small_grpo(advantage_estimator="rloo", max_response_length=4, kl_coef=0.0),
                                    tiny_path, recs, None, str(tmp_path / "r"), image_loader=synthetic_image_loader)
    # TRL's once-per-generation deprecation call is silenced; the log keeps every other warning.
    assert not [w for w in seen if "is_gradient_checkpointing" in str(w.message)]
    assert isinstance(trainer, RLOOTrainer) and trainer.state.global_step == 1
    assert os.path.isfile(os.path.join(final, "config.json"))


@pytest.mark.parametrize("lora", [False, True])
def test_sft_full_and_lora_learns_the_target(tiny_path, tmp_path, lora):
    from robotr1_train.trl_train import train_sft

    recs = synthetic_records(4)
    cfg = SFTConfig(global_batch_size=4, micro_batch_size=4, learning_rate=1e-2, max_steps=3, save_steps=0,
                    progress_bar=False, report_to="none", seed=0, target="cot", lora=lora, lora_r=4)
    trainer, final = train_sft(cfg, tiny_path, recs, None, str(tmp_path / "s"), image_loader=synthetic_image_loader)
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert os.path.isfile(os.path.join(final, "adapter_config.json" if lora else "model.safetensors"))


def test_sft_without_targets_is_one_line(tiny_path, tmp_path):
    from robotr1_data.errors import UsageError
    from robotr1_train.trl_train import train_sft

    recs = synthetic_records(2)
    del recs[1]["sft_cot"]
    with pytest.raises(UsageError, match="sft_cot"):
        train_sft(SFTConfig(target="cot", report_to="none"), tiny_path, recs, None, str(tmp_path / "s"),
                  image_loader=synthetic_image_loader)


# ---------------------------------------------------------------------------------------------- resume


@pytest.mark.parametrize("damage", ["trainer_state.json", "model.safetensors", "unsealed"])
def test_resume_skips_a_truncated_newest_checkpoint(tiny_path, tmp_path, capsys, damage):
    from robotr1_train.trl_train import train_grpo

    recs = synthetic_records(2)
    out = str(tmp_path / "run")
    cfg = small_grpo(max_steps=2, save_steps=1, max_response_length=4)
    train_grpo(cfg, tiny_path, recs, None, out, image_loader=synthetic_image_loader)
    newest = os.path.join(out, "checkpoint-2")
    if damage == "unsealed":  # killed while saving: the seal is written last
        os.remove(os.path.join(newest, "robotr1_complete.json"))
    else:
        path = os.path.join(newest, damage)
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
    capsys.readouterr()
    trainer, _ = train_grpo(small_grpo(max_steps=3, save_steps=1, max_response_length=4), tiny_path, recs, None,
                            out, resume=True, image_loader=synthetic_image_loader)
    err = capsys.readouterr().err
    assert f"skipping incomplete checkpoint {newest}" in err and "Traceback" not in err
    assert trainer.state.global_step == 3
    steps = [json.loads(line)["step"] for line in open(os.path.join(out, "metrics.jsonl"))]
    assert [s for s in steps if s <= 3][:3] == [1, 2, 3]  # step 2 was redone from checkpoint-1, logged once


@pytest.mark.parametrize("lora", [False, True])
def test_resume_goes_on_from_the_checkpoint_weights(tiny_path, tmp_path, lora):
    """An interrupted run resumed from checkpoint-2 ends with the weights of the same run done in
    one go. transformers' Trainer alone restored no weight of a full fine-tune here (save_pretrained
    writes Qwen2.5-VL under its original key names, which its strict=False load did not match), so
    the resumed run trained on from the base model with the checkpoint's optimizer state."""
    from robotr1_train.trl_train import train_sft

    recs = synthetic_records(8)

    def run(out, steps, resume=False):
        cfg = SFTConfig(global_batch_size=2, micro_batch_size=2, learning_rate=1e-2, max_steps=steps, save_steps=2,
                        progress_bar=False, report_to="none", seed=0, target="direct", lora=lora, lora_r=4)
        return train_sft(cfg, tiny_path, recs, None, str(out), resume=resume, image_loader=synthetic_image_loader)

    whole, _ = run(tmp_path / "whole", 4)
    shutil.copytree(tmp_path / "whole" / "checkpoint-2", tmp_path / "cut" / "checkpoint-2")
    resumed, _ = run(tmp_path / "cut", 4, resume=True)
    assert resumed.state.global_step == 4
    want, got = _params(whole.model), _params(resumed.model)
    assert want.keys() == got.keys()
    changed = [n for n in want if not torch.allclose(want[n], got[n], atol=1e-5)]
    assert not changed, f"{len(changed)} tensors differ from the uninterrupted run, e.g. {changed[:3]}"
    loss = lambda t: [r["loss"] for r in t.state.log_history if "loss" in r and r.get("step") in (3, 4)]  # noqa: E731
    assert loss(resumed) == pytest.approx(loss(whole), rel=1e-4)


def test_grpo_resume_goes_on_from_the_checkpoint_weights(tiny_path, tmp_path):
    from robotr1_train.trl_train import train_grpo

    recs = synthetic_records(2)

    def run(out, steps, resume=False):
        return train_grpo(small_grpo(max_steps=steps, save_steps=1, kl_coef=1e-2), tiny_path, recs, None, str(out),
                          resume=resume, image_loader=synthetic_image_loader,
                          rollout_func=scripted_rollout(recs, answer_even_right))

    whole, _ = run(tmp_path / "whole", 2)
    shutil.copytree(tmp_path / "whole" / "checkpoint-1", tmp_path / "cut" / "checkpoint-1")
    resumed, _ = run(tmp_path / "cut", 2, resume=True)
    want, got = _params(whole.model), _params(resumed.model)
    # atol: the lm_head differs by ~4e-5 after the resumed step (summation order), a step is ~1e-2
    assert not [n for n in want if not torch.allclose(want[n], got[n], atol=1e-4)]
    base = _params(resumed.ref_model)  # the KL reference stays the base model, not the checkpoint
    from robotr1_train.models import load_model_and_processor

    start = _params(load_model_and_processor(tiny_path, dtype="fp32", device="cpu").model)
    assert all(torch.equal(base[n], start[n]) for n in start if n in base)


def test_resume_with_no_complete_checkpoint_is_one_line(tiny_path, tmp_path):
    from robotr1_data.errors import UsageError
    from robotr1_train.trl_train import train_grpo

    (tmp_path / "run" / "checkpoint-1").mkdir(parents=True)
    with pytest.raises(UsageError, match="no complete checkpoint"):
        train_grpo(small_grpo(), tiny_path, synthetic_records(2), None, str(tmp_path / "run"), resume=True,
                   image_loader=synthetic_image_loader)


# ----------------------------------------------------------------------------- two processes (gloo)

TWO_PROC = r"""
import json, os, sys
os.environ["TRL_EXPERIMENTAL_SILENCE"] = "1"
import torch
torch.set_num_threads(1)
from robotr1_train.config import GRPOConfig
from robotr1_train.testing import scripted_rollout, synthetic_image_loader, synthetic_records
from robotr1_train.trl_train import train_grpo

tiny, out = sys.argv[1], sys.argv[2]
recs = synthetic_records(4, types=("waypoint", "movement", "movement", "movement"))
right = {"syn-0000", "syn-0001"}  # waypoint always right; movement right only for syn-0001
def answer(rec, k):
    letter = rec["answer"] if rec["id"] in right else ("A" if rec["answer"] != "A" else "B")
    return f"<think> t </think> <answer> [[{letter}]] </answer>"
cfg = GRPOConfig(num_generations=2, rollout_batch_size=4, global_batch_size=4, micro_batch_size=4,
                 max_response_length=24, learning_rate=1e-3, max_steps=1, save_steps=0, progress_bar=False,
                 report_to="none", log_completions=True, num_completions_to_print=0, seed=0, kl_coef=0.0)
# TRL shuffles the prompts and hands each process a contiguous half of the rollout, so which
# types meet on a process depends on the seed; any split where the processes differ is skewed.
trainer, _ = train_grpo(cfg, tiny, recs, None, out, image_loader=synthetic_image_loader,
                        rollout_func=scripted_rollout(recs, answer))
"""


def test_per_type_metrics_across_two_gloo_processes(tiny_path, tmp_path):
    """Skewed split: one process holds waypoint + movement, the other only movement. No hang, and the
    logged per-type means are over all completions (not a mean of per-process means)."""
    script = tmp_path / "two.py"
    script.write_text(TWO_PROC)
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    env = dict(os.environ, OMP_NUM_THREADS="1", ACCELERATE_USE_CPU="1", PYTHONPATH=os.path.abspath(ROOT))
    out = tmp_path / "run"
    import socket

    with socket.socket() as sock:  # a free port for the rendezvous (torchrun's port 0 is not "any")
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.run([torchrun, "--nproc_per_node", "2", "--master_port", str(port), str(script), tiny_path,
                           str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = next(json.loads(line) for line in open(out / "metrics.jsonl") if "reward" in json.loads(line))
    # every process saw a different set of types, and the parquet table shows which
    import pandas as pd

    table = pd.read_parquet(next((out / "completions").glob("*.parquet")))
    assert len(table) == 8
    import re

    # rows are gathered in rank order: the first four are process 0's, the last four process 1's
    idx = [int(re.search(r"\[0\.(\d)00, 0\.100", str(p)).group(1)) for p in table["prompt"]]
    kinds = [{"waypoint" if i == 0 else "movement" for i in idx[:4]}, {"waypoint" if i == 0 else "movement"
                                                                       for i in idx[4:]}]
    assert kinds[0] != kinds[1], idx  # one process never saw a waypoint question
    # completions: waypoint syn-0000 x2 right; movement syn-0001 x2 right, syn-0002/3 x4 wrong
    assert row["accuracy/waypoint"] == 1.0
    assert row["accuracy/movement"] == pytest.approx(2 / 6)  # mean of process means would be 0.5
    assert row["reward/movement"] == pytest.approx(1 + 2 / 6)
    assert row["rewards/accuracy/mean"] == pytest.approx(4 / 8)


def test_bench_train_step_runs_on_the_tiny_model(capsys):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import train_step

    assert train_step.main(["--tiny", "--steps", "1", "--G", "2", "--response-length", "4"]) == 0
    text = capsys.readouterr().out
    out = json.loads(text[text.rindex("\n{") + 1:])
    assert out["engine"] == "trl.GRPOTrainer" and out["G"] == 2
    assert out["rollout_s"] > 0 and out["update_s"] > 0 and out["scoring_s"] >= 0
    assert out["step_s"] >= out["rollout_s"] + out["scoring_s"]


def test_demo_smoke_arguments_are_valid(monkeypatch):
    """make demo's training step passes flags the grpo command accepts (run for real by make demo)."""
    import robotr1_train.cli as cli

    seen = []
    monkeypatch.setattr(cli, "run_grpo", lambda a: seen.append(a) or 0)
    monkeypatch.setattr(cli, "run_make_tiny_model", lambda a: 0)
    import tempfile
    from pathlib import Path

    from robotr1_data import demo

    with tempfile.TemporaryDirectory() as d:
        demo._train_smoke(Path(d), 0)
    from robotr1_data.config import from_args
    from robotr1_train.config import GRPOConfig

    assert seen and from_args(GRPOConfig, seen[0]).max_steps == 2


KILLED_RUN = r"""
import os, sys
os.environ["TRL_EXPERIMENTAL_SILENCE"] = "1"
import torch
torch.set_num_threads(1)
from robotr1_train.config import GRPOConfig
from robotr1_train.testing import synthetic_image_loader, synthetic_records
from robotr1_train.trl_train import train_grpo

cfg = GRPOConfig(num_generations=2, rollout_batch_size=2, global_batch_size=2, micro_batch_size=4,
                 max_response_length=4, learning_rate=1e-3, max_steps=10_000, save_steps=1, save_total_limit=0,
                 progress_bar=False, report_to="none", log_completions=False, seed=0)
train_grpo(cfg, sys.argv[1], synthetic_records(2), None, sys.argv[2], image_loader=synthetic_image_loader)
"""


# Not marked slow: resuming after a real kill -9 is the contract `make test` must hold (~25-45 s).
def test_resume_after_kill_9(tiny_path, tmp_path, capsys):
    import signal
    import time

    from robotr1_train.runtime import checkpoint_problem, list_checkpoints
    from robotr1_train.trl_train import train_grpo

    script = tmp_path / "killed.py"
    script.write_text(KILLED_RUN)
    out = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.path.abspath(ROOT))
    proc = subprocess.Popen([sys.executable, str(script), tiny_path, str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            if len(list_checkpoints(str(out))) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the training subprocess ended before it could be killed"
        proc.send_signal(signal.SIGKILL)  # mid-run, possibly mid-save
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    ckpts = list_checkpoints(str(out))
    complete = [s for s, p in ckpts if checkpoint_problem(p) is None]
    assert complete, ckpts
    capsys.readouterr()
    trainer, final = train_grpo(small_grpo(max_steps=complete[-1] + 1, save_steps=1, max_response_length=4),
                                tiny_path, synthetic_records(2), None, str(out), resume=True,
                                image_loader=synthetic_image_loader)
    assert trainer.state.global_step == complete[-1] + 1
    assert "Traceback" not in capsys.readouterr().err
    assert os.path.isfile(os.path.join(final, "config.json"))
