"""Supervised fine-tuning baselines (DESIGN.md §4): imitate ``sft_direct`` or ``sft_cot`` answers.

The target text (plus the end-of-turn token) follows the same chat prompt GRPO uses; the loss is the
token-mean negative log-likelihood of the target tokens only (prompt and padding carry no loss),
computed with the same chunked log-prob path as GRPO. Checkpoints, resume, metrics and accelerate
work as in ``grpo``.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Callable, Optional

import torch

from robotr1_data.errors import UsageError
from robotr1_train.config import SFTConfig
from robotr1_train.data import (collate_sequences, encode_prompts, record_images, split_prompt_batch,
                                step_indices, steps_per_epoch)
from robotr1_train.logprobs import CompletionScorer, move_batch
from robotr1_train.runtime import (MetricsLogger, load_checkpoint, make_accelerator, make_optimizer,
                                   make_scheduler, peak_memory_bytes, progress, save_checkpoint,
                                   save_final_model, seed_everything)


def target_text(record: dict, target: str) -> str:
    key = f"sft_{target}"
    val = record.get(key)
    if not isinstance(val, str) or not val:
        raise UsageError(f"question {record.get('id')} has no '{key}' text; rebuild the QA store with SFT targets")
    return val


class SFTTrainer:
    def __init__(self, cfg: SFTConfig, policy, processor, records: list[dict], out_dir: str, *,
                 qa_dir=None, image_loader: Optional[Callable] = None, accelerator=None):
        self.cfg = cfg
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.records = records
        for r in records:
            target_text(r, cfg.target)
        self.out_dir = str(out_dir)
        self.qa_dir = qa_dir
        self.image_loader = image_loader
        self.acc = accelerator or make_accelerator(cfg)
        self.pad_id = self.tokenizer.pad_token_id
        self.eos_id = self.tokenizer.eos_token_id
        policy.to(self.acc.device)
        scorer = CompletionScorer(policy, 1.0, cfg.logprob_chunk_size)
        self.optimizer = make_optimizer([p for p in scorer.parameters() if p.requires_grad], cfg)
        n = len(records)
        self.steps_per_epoch = steps_per_epoch(n, cfg.global_batch_size)
        total = cfg.epochs * self.steps_per_epoch
        self.total_steps = min(total, cfg.max_steps) if cfg.max_steps > 0 else total
        self.scheduler = make_scheduler(self.optimizer, self.total_steps, cfg.lr_warmup_ratio)
        self.scorer, self.optimizer = self.acc.prepare(scorer, self.optimizer)
        self.step = 0
        self.logger = MetricsLogger(self.out_dir, enabled=self.acc.is_main_process, tensorboard=cfg.tensorboard)

    @property
    def policy(self):
        return self.acc.unwrap_model(self.scorer).policy

    def _autocast(self):
        return self.acc.autocast() if self.acc.mixed_precision != "no" else contextlib.nullcontext()

    def encode_targets(self, records) -> list[list[int]]:
        out = []
        for r in records:
            ids = self.tokenizer(target_text(r, self.cfg.target), add_special_tokens=False)["input_ids"]
            ids = list(ids)[: max(0, self.cfg.max_response_length - 1)] + [self.eos_id]
            out.append(ids)
        return out

    def batches(self, indices):
        cfg = self.cfg
        for s in range(0, len(indices), cfg.micro_batch_size):
            recs = [self.records[i] for i in indices[s: s + cfg.micro_batch_size]]
            imgs = [record_images(r, self.qa_dir, self.image_loader) for r in recs]
            enc = encode_prompts(self.processor, recs, imgs, cfg.max_prompt_length)
            batch = collate_sequences(split_prompt_batch(enc), self.encode_targets(recs), self.pad_id)
            dtype = next(self.policy.parameters()).dtype
            yield recs, move_batch(batch, self.acc.device, dtype)

    def train_step(self) -> dict:
        cfg = self.cfg
        t0 = time.perf_counter()
        epoch, idx = step_indices(len(self.records), cfg.global_batch_size, cfg.seed, self.step)
        local = list(idx[self.acc.process_index:: self.acc.num_processes])
        mbs = list(self.batches(local))
        ntok = float(sum(float(b["completion_mask"].sum()) for _, b in mbs))
        if self.acc.num_processes > 1:
            t = self.acc.reduce(torch.tensor([ntok], device=self.acc.device), reduction="sum")
            ntok = float(t[0])
        norm = max(ntok, 1.0) / self.acc.num_processes
        self.scorer.train()
        nll_sum, tokens, correct = 0.0, 0, 0.0
        for k, (_, batch) in enumerate(mbs):
            ctx = contextlib.nullcontext() if k == len(mbs) - 1 else self.acc.no_sync(self.scorer)
            with ctx:
                with self._autocast():
                    logp = self.scorer(**batch).float()
                mask = batch["completion_mask"]
                loss = -(logp * mask).sum() / norm
                self.acc.backward(loss)
            nll_sum += float(-(logp.detach() * mask).sum())
            tokens += int(mask.sum())
            correct += float(((logp.detach() > -0.6931).float() * mask).sum())  # p > 0.5
        gn = 0.0
        if cfg.max_grad_norm and cfg.max_grad_norm > 0:
            gn = float(self.acc.clip_grad_norm_(self.scorer.parameters(), cfg.max_grad_norm))
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        prompt_tok = sum(int(b["attention_mask"].sum()) for _, b in mbs)
        return {
            "epoch": epoch,
            "sft/loss": nll_sum / max(tokens, 1),
            "sft/token_p_gt_half": correct / max(tokens, 1),
            "sft/target_tokens": tokens,
            "actor/grad_norm": gn,
            "actor/lr": self.scheduler.get_last_lr()[0],
            "time/step_s": dt,
            "throughput/tokens_per_s": prompt_tok / max(dt, 1e-9),
            "memory/peak_bytes": peak_memory_bytes(),
        }

    def train(self, resume: bool = False) -> dict:
        cfg = self.cfg
        if resume:
            self.step = load_checkpoint(self.out_dir, self.scorer, self.optimizer, self.scheduler, self.acc)
            self.logger.truncate_after(self.step)
        else:
            seed_everything(cfg.seed + self.acc.process_index)
        bar = progress(self.total_steps, self.step, cfg.progress_bar and self.acc.is_main_process,
                       f"sft-{cfg.target}")
        last = {}
        try:
            while self.step < self.total_steps:
                last = self.train_step()
                self.step += 1
                if self.step % max(1, cfg.logging_steps) == 0 or self.step == self.total_steps:
                    self.logger.log(self.step, last)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{last['sft/loss']:.3f}")
                if (cfg.save_steps > 0 and self.step % cfg.save_steps == 0) or self.step == self.total_steps:
                    save_checkpoint(self.out_dir, self.step, self.scorer, self.optimizer, self.scheduler,
                                    self.acc, {"epoch": last.get("epoch", 0), "kind": "sft"},
                                    keep=cfg.save_total_limit)
        finally:
            if bar is not None:
                bar.close()
            self.logger.close()
        return last

    def save_model(self, out_dir: Optional[str] = None) -> str:
        return save_final_model(self.acc, self.policy, self.processor,
                                out_dir or os.path.join(self.out_dir, "final"))
