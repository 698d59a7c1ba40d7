"""GRPO for a vision-language policy on Robot-R1 questions (DESIGN.md §4).

One training step:

1. take the step's ``rollout_batch_size`` questions (order: a function of seed and step);
2. sample ``num_generations`` (G) completions per question at ``temperature`` (left-padded
   multi-image batches, ``generate``);
3. score each completion with ``reward_fn(text, record) -> {"total", "format", "accuracy"}``;
4. advantages per group (GRPO; RLOO or REINFORCE++ with ``advantage_estimator``);
5. log-probs of the sampled tokens under the rollout policy ("old") and the reference (under LoRA the
   same weights with the adapter disabled: no second copy; otherwise a frozen copy), in chunks;
6. ``num_iterations`` passes over the rollouts in updates of ``global_batch_size`` questions:
   clipped-ratio objective + ``kl_coef`` x KL(policy || reference) (k3 estimator), token-mean.

Works on one CPU process (tests) and under ``accelerate launch`` (DDP / FSDP / ZeRO config files in
``configs/``); each process generates for its share of the step's questions.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import sys
import time
from collections import defaultdict
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from robotr1_train import advantages as adv_lib
from robotr1_train.config import GRPOConfig
from robotr1_train.data import (collate_sequences, encode_prompts, record_images, split_prompt_batch,
                                step_indices, steps_per_epoch)
from robotr1_train.logprobs import CompletionScorer, move_batch, vision_token_ids
from robotr1_train.runtime import (MetricsLogger, load_checkpoint, make_optimizer, make_scheduler,
                                   peak_memory_bytes, progress, save_checkpoint, save_final_model,
                                   seed_everything)

RewardFn = Callable[[str, dict], dict]


def default_reward_fn() -> RewardFn:
    from robotr1_train.rewards import reward

    return reward


def _as_reward(out) -> dict:
    if isinstance(out, dict):
        d = {k: float(v) for k, v in out.items() if isinstance(v, (int, float, np.floating, bool))}
        d.setdefault("total", float(out.get("total", 0.0)))
        return d
    return {"total": float(out)}


def pad_prompts(items: Sequence[dict], pad_id: int) -> dict:
    """Left-padded generation inputs from per-prompt dicts (``split_prompt_batch``)."""
    b = collate_sequences(items, [[] for _ in items], pad_id)
    P = b["prompt_length"]
    out = {k: b[k][:, :P] for k in ("input_ids", "attention_mask", "mm_token_type_ids")}
    if "pixel_values" in b:
        out["pixel_values"] = b["pixel_values"]
        out["image_grid_thw"] = b["image_grid_thw"]
    return out


def truncate_at_eos(row: Sequence[int], eos_ids: set) -> list[int]:
    out = []
    for t in row:
        out.append(int(t))
        if int(t) in eos_ids:
            break
    return out


class GRPOTrainer:
    def __init__(self, cfg: GRPOConfig, policy, processor, records: list[dict], out_dir: str, *,
                 qa_dir=None, image_loader: Optional[Callable] = None, reward_fn: Optional[RewardFn] = None,
                 lora: Optional[bool] = None, accelerator=None):
        from robotr1_train.runtime import make_accelerator

        self.cfg = cfg
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.records = records
        self.out_dir = str(out_dir)
        self.qa_dir = qa_dir
        self.image_loader = image_loader
        self.reward_fn = reward_fn or default_reward_fn()
        self.acc = accelerator or make_accelerator(cfg)
        self.lora = bool(cfg.lora if lora is None else lora)
        self.pad_id = self.tokenizer.pad_token_id
        eos = getattr(policy, "generation_config", None)
        eos_ids = {self.tokenizer.eos_token_id}
        gen_eos = getattr(eos, "eos_token_id", None) if eos is not None else None
        if isinstance(gen_eos, int):
            eos_ids.add(gen_eos)
        elif isinstance(gen_eos, (list, tuple)):
            eos_ids.update(int(e) for e in gen_eos)
        self.eos_ids = {int(e) for e in eos_ids if e is not None}

        self.ref_model = None
        if cfg.kl_coef > 0 and not self.lora:
            self.ref_model = copy.deepcopy(policy).eval()
            for p in self.ref_model.parameters():
                p.requires_grad_(False)
            self.ref_model.to(self.acc.device)
        policy.to(self.acc.device)
        self.suppress_ids = vision_token_ids(policy)
        scorer = CompletionScorer(policy, cfg.temperature, cfg.logprob_chunk_size, self.suppress_ids)
        params = [p for p in scorer.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(params, cfg)
        n = len(records)
        self.steps_per_epoch = steps_per_epoch(n, cfg.rollout_batch_size)
        total = cfg.epochs * self.steps_per_epoch
        self.total_steps = min(total, cfg.max_steps) if cfg.max_steps > 0 else total
        self.prompts_per_step = min(cfg.rollout_batch_size, n)
        self.updates_per_step = cfg.num_iterations * max(1, math.ceil(self.prompts_per_step / cfg.global_batch_size))
        self.scheduler = make_scheduler(self.optimizer, self.total_steps * self.updates_per_step, cfg.lr_warmup_ratio)
        self.scorer, self.optimizer = self.acc.prepare(scorer, self.optimizer)
        self.step = 0
        self.logger = MetricsLogger(self.out_dir, enabled=self.acc.is_main_process, tensorboard=cfg.tensorboard)

    # ------------------------------------------------------------------ helpers
    @property
    def policy(self):
        return self.acc.unwrap_model(self.scorer).policy

    def _float_dtype(self):
        return next(self.policy.parameters()).dtype

    def _autocast(self):
        return self.acc.autocast() if self.acc.mixed_precision != "no" else contextlib.nullcontext()

    def _full_params(self):
        """Under FSDP, gather the root unit's parameters for calls that bypass the wrapper's forward
        (generate, no-grad scoring). Nothing to do on one process, DDP or ZeRO-2."""
        if str(getattr(self.acc, "distributed_type", "")).endswith("FSDP"):
            from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

            return FSDP.summon_full_params(self.scorer, recurse=False, writeback=False)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ rollout
    @torch.no_grad()
    def rollout(self, indices: Sequence[int]):
        """Generate G completions per question; returns (prompt items, samples)."""
        cfg = self.cfg
        G = cfg.num_generations
        policy = self.policy
        was_training = policy.training
        policy.eval()
        items, samples = [], []
        stats = {"prompt_tokens": 0, "completion_tokens": 0, "truncated": 0}
        for s in range(0, len(indices), cfg.generation_batch_size):
            chunk = [self.records[i] for i in indices[s: s + cfg.generation_batch_size]]
            imgs = [record_images(r, self.qa_dir, self.image_loader) for r in chunk]
            enc = encode_prompts(self.processor, chunk, imgs, cfg.max_prompt_length)
            chunk_items = split_prompt_batch(enc)
            rep = [it for it in chunk_items for _ in range(G)]
            gen_in = move_batch(pad_prompts(rep, self.pad_id), self.acc.device, self._float_dtype())
            P = gen_in["input_ids"].shape[1]
            with self._autocast(), self._full_params():
                out = policy.generate(
                    **gen_in, do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p, top_k=0,
                    max_new_tokens=cfg.max_response_length, pad_token_id=self.pad_id,
                    eos_token_id=sorted(self.eos_ids), use_cache=True,
                    suppress_tokens=self.suppress_ids or None,
                )
            seqs = out if isinstance(out, torch.Tensor) else out.sequences
            new = seqs[:, P:].cpu().tolist()
            for j, row in enumerate(new):
                k = j // G
                rec = chunk[k]
                comp = truncate_at_eos(row, self.eos_ids)
                if not comp or comp[-1] not in self.eos_ids:
                    stats["truncated"] += 1
                text = self.tokenizer.decode(comp, skip_special_tokens=True)
                try:
                    r = _as_reward(self.reward_fn(text, rec))
                except Exception as e:  # noqa: BLE001 - a broken reward must not kill a long run
                    print(f"robotr1-train: reward_fn failed on {rec.get('id')}: {e}", file=sys.stderr)
                    r = {"total": 0.0, "error": 1.0}
                samples.append({"item": len(items) + k, "completion": comp, "text": text, "reward": r,
                                "type": rec.get("type", "unknown")})
                stats["prompt_tokens"] += int(chunk_items[k]["input_ids"].shape[0])
                stats["completion_tokens"] += len(comp)
            items.extend(chunk_items)
        if was_training:
            policy.train()
        return items, samples, stats

    def _micro_batches(self, items, samples, idx):
        mb = self.cfg.micro_batch_size
        for s in range(0, len(idx), mb):
            sel = idx[s: s + mb]
            batch = collate_sequences([items[samples[i]["item"]] for i in sel],
                                      [samples[i]["completion"] for i in sel], self.pad_id)
            yield sel, move_batch(batch, self.acc.device, self._float_dtype())

    @torch.no_grad()
    def _score(self, items, samples, which: str) -> list[torch.Tensor]:
        """Per-sample completion log-probs (cpu float32) under 'old' (policy) or 'ref'."""
        out: list = [None] * len(samples)
        policy = self.policy
        for sel, batch in self._micro_batches(items, samples, list(range(len(samples)))):
            args = (self.cfg.temperature, self.cfg.logprob_chunk_size, self.suppress_ids)
            with self._autocast(), self._full_params():
                if which == "ref" and self.lora:
                    with policy.disable_adapter():
                        lp = CompletionScorer(policy, *args)(**batch)
                elif which == "ref":
                    lp = CompletionScorer(self.ref_model, *args)(**batch)
                else:
                    lp = CompletionScorer(policy, *args)(**batch)
            for row, i in enumerate(sel):
                out[i] = lp[row, : len(samples[i]["completion"])].float().cpu()
        return out

    @staticmethod
    def _pad_rows(rows: Sequence[torch.Tensor], C: int) -> torch.Tensor:
        out = torch.zeros(len(rows), C)
        for i, r in enumerate(rows):
            out[i, : r.numel()] = r[:C]
        return out

    # ------------------------------------------------------------------ update
    def update(self, items, samples, advantages: torch.Tensor, old_lp, ref_lp) -> dict:
        cfg = self.cfg
        G = cfg.num_generations
        n = len(samples)
        per_update = max(1, (cfg.global_batch_size // self.acc.num_processes)) * G
        sums = defaultdict(float)
        counts = defaultdict(float)
        self.scorer.train()
        for _ in range(cfg.num_iterations):
            for u in range(0, n, per_update):
                idx = list(range(u, min(n, u + per_update)))
                ntok = float(sum(len(samples[i]["completion"]) for i in idx))
                nseq = float(len(idx))
                if self.acc.num_processes > 1:
                    t = torch.tensor([ntok, nseq], device=self.acc.device)
                    t = self.acc.reduce(t, reduction="sum")
                    ntok, nseq = float(t[0]), float(t[1])
                norm = max(ntok, 1.0) if cfg.loss_agg_mode == "token_mean" else max(nseq, 1.0)
                norm = norm / self.acc.num_processes  # DDP averages gradients over processes
                mbs = list(self._micro_batches(items, samples, idx))
                for k, (sel, batch) in enumerate(mbs):
                    last = k == len(mbs) - 1
                    ctx = contextlib.nullcontext() if last else self.acc.no_sync(self.scorer)
                    with ctx:
                        with self._autocast():
                            logp = self.scorer(**batch).float()
                        mask = batch["completion_mask"].float()
                        C = mask.shape[1]
                        A = advantages[sel].to(logp.device)
                        if old_lp is None:
                            old = logp.detach()
                        else:
                            old = self._pad_rows([old_lp[i] for i in sel], C).to(logp.device)
                        pg, clipped, ratio = adv_lib.clipped_policy_loss(logp, old, A, cfg.clip_ratio,
                                                                         cfg.clip_ratio_high)
                        tok_loss = pg
                        if ref_lp is not None:
                            ref = self._pad_rows([ref_lp[i] for i in sel], C).to(logp.device)
                            kl = adv_lib.kl_penalty(logp, ref, cfg.kl_estimator)
                            tok_loss = pg + cfg.kl_coef * kl
                            sums["kl"] += float((kl.detach() * mask).sum())
                        loss = adv_lib.aggregate(tok_loss, mask, cfg.loss_agg_mode, normalizer=norm)
                        self.acc.backward(loss)
                    m = float(mask.sum())
                    sums["pg_loss"] += float((pg.detach() * mask).sum())
                    sums["clip_frac"] += float((clipped * mask).sum())
                    sums["ratio"] += float((ratio.detach() * mask).sum())
                    counts["tokens"] += m
                    sums["loss"] += float(loss.detach()) * self.acc.num_processes
                if cfg.max_grad_norm and cfg.max_grad_norm > 0:
                    gn = self.acc.clip_grad_norm_(self.scorer.parameters(), cfg.max_grad_norm)
                    sums["grad_norm"] += float(gn)
                counts["updates"] += 1
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
        tok = max(counts["tokens"], 1.0)
        upd = max(counts["updates"], 1.0)
        out = {
            "actor/pg_loss": sums["pg_loss"] / tok,
            "actor/clip_frac": sums["clip_frac"] / tok,
            "actor/ratio_mean": sums["ratio"] / tok,
            "actor/loss": sums["loss"] / upd,
            "actor/grad_norm": sums["grad_norm"] / upd,
            "actor/lr": self.scheduler.get_last_lr()[0],
        }
        if ref_lp is not None:
            out["actor/kl"] = sums["kl"] / tok
        return out

    # ------------------------------------------------------------------ one step
    def train_step(self) -> dict:
        cfg = self.cfg
        t0 = time.perf_counter()
        epoch, idx = step_indices(len(self.records), cfg.rollout_batch_size, cfg.seed, self.step)
        local = list(idx[self.acc.process_index:: self.acc.num_processes])
        items, samples, stats = self.rollout(local)
        t_gen = time.perf_counter() - t0
        rewards = torch.tensor([s["reward"]["total"] for s in samples], dtype=torch.float32)
        A = adv_lib.compute_advantages(rewards, cfg.num_generations, cfg.advantage_estimator, cfg.std_normalize)
        G = cfg.num_generations
        per_update = max(1, cfg.global_batch_size // self.acc.num_processes) * G
        need_old = cfg.num_iterations > 1 or len(samples) > per_update
        old_lp = self._score(items, samples, "old") if need_old else None
        ref_lp = self._score(items, samples, "ref") if cfg.kl_coef > 0 else None
        upd = self.update(items, samples, A, old_lp, ref_lp)
        dt = time.perf_counter() - t0
        metrics = self._rollout_metrics(samples, stats)
        metrics.update(upd)
        metrics.update({
            "epoch": epoch,
            "world_size": self.acc.num_processes,
            "time/step_s": dt,
            "time/generate_s": t_gen,
            "throughput/tokens_per_s": (stats["prompt_tokens"] + stats["completion_tokens"]) / max(dt, 1e-9),
            "advantage/abs_mean": float(A.abs().mean()) if A.numel() else 0.0,
            "memory/peak_bytes": peak_memory_bytes(),
        })
        return metrics

    def _rollout_metrics(self, samples, stats) -> dict:
        m: dict = {}
        by_type = defaultdict(list)
        keys = sorted({k for s in samples for k in s["reward"]})
        for s in samples:
            by_type[s["type"]].append(s["reward"])
        for k in keys:
            vals = np.array([s["reward"].get(k, 0.0) for s in samples], dtype=np.float64)
            name = "reward/mean" if k == "total" else f"reward/{k}"
            m[name] = float(vals.mean()) if vals.size else 0.0
            if k == "total":
                m["reward/std"] = float(vals.std()) if vals.size else 0.0
        if "reward/accuracy" in m:
            m["accuracy"] = m.pop("reward/accuracy")
        for t, rs in sorted(by_type.items()):
            tot = np.array([r.get("total", 0.0) for r in rs])
            m[f"reward_by_type/{t}/mean"] = float(tot.mean())
            m[f"reward_by_type/{t}/std"] = float(tot.std())
            if any("accuracy" in r for r in rs):
                m[f"accuracy_by_type/{t}"] = float(np.mean([r.get("accuracy", 0.0) for r in rs]))
        lens = np.array([len(s["completion"]) for s in samples], dtype=np.float64)
        m["response_length/mean"] = float(lens.mean()) if lens.size else 0.0
        m["response_length/max"] = float(lens.max()) if lens.size else 0.0
        m["response_length/clip_ratio"] = stats["truncated"] / max(1, len(samples))
        if self.acc.num_processes > 1:
            t = torch.tensor([m[k] for k in sorted(m)], device=self.acc.device, dtype=torch.float64)
            t = self.acc.reduce(t, reduction="mean")
            m = dict(zip(sorted(m), t.tolist()))
        return m

    # ------------------------------------------------------------------ loop
    def train(self, resume: bool = False) -> dict:
        cfg = self.cfg
        if resume:
            self.step = load_checkpoint(self.out_dir, self.scorer, self.optimizer, self.scheduler, self.acc)
            self.logger.truncate_after(self.step)
        else:
            seed_everything(cfg.seed + self.acc.process_index)
        bar = progress(self.total_steps, self.step, cfg.progress_bar and self.acc.is_main_process, "grpo")
        last = {}
        try:
            while self.step < self.total_steps:
                metrics = self.train_step()
                self.step += 1
                last = metrics
                if self.step % max(1, cfg.logging_steps) == 0 or self.step == self.total_steps:
                    self.logger.log(self.step, metrics)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(reward=f"{metrics.get('reward/mean', 0):.3f}",
                                    kl=f"{metrics.get('actor/kl', 0):.4f}")
                if (cfg.save_steps > 0 and self.step % cfg.save_steps == 0) or self.step == self.total_steps:
                    save_checkpoint(self.out_dir, self.step, self.scorer, self.optimizer, self.scheduler,
                                    self.acc, {"epoch": metrics.get("epoch", 0), "kind": "grpo"},
                                    keep=cfg.save_total_limit)
        finally:
            if bar is not None:
                bar.close()
            self.logger.close()
        return last

    def save_model(self, out_dir: Optional[str] = None) -> str:
        return save_final_model(self.acc, self.policy, self.processor,
                                out_dir or os.path.join(self.out_dir, "final"))
