"""Where GRPO's and SFT's expected updates push, question by question, for a model and its questions.

    python bench/update_push.py --qa QA_DIR --model RUN_OR_MODEL_DIR [--temperatures 0.5 1 2]
        [--generations 5] [--max-questions 1000]

A multiple-choice question is a four-armed bandit for the policy: each option's ``sft_direct``
answer (then end-of-sequence) is scored by teacher forcing, which gives the model's log-probability
``s_a`` of answering ``a``. In the space of those four scores:

- SFT on the label ``c`` pushes along ``e_c - softmax(s)`` (the cross-entropy gradient);
- GRPO samples G answers from ``softmax(s / T)``, scores them 1 (right) or 0, and pushes along
  ``mean_i A_i (e_{a_i} - softmax(s / T)) / T`` with ``A_i = (r_i - mean r) / (std r + 1e-4)``
  (TRL's group-scaled advantage, unbiased std); its *expected* push is computed exactly by
  enumerating all 4^G outcomes (G <= 6).

Written here rather than taken from TRL because TRL computes one sampled update, not its
expectation over the outcomes, which is what shows where the update goes on average. For each
setting the script prints the share of the total push (the sum of its norms) that lands on the
questions the model answers wrongly when greedy: the ones whose answers an update has to flip.
Temperature is applied to whole-answer scores, which is exact when the options differ in one token
and the other tokens are certain (the tiny model of ``bench/learning.py``, whose question tokenizer
makes the whole direct answer one token) and an approximation otherwise. The last stdout line is one
JSON object with the numbers.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

LETTERS = "ABCD"


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max())
    return e / e.sum()


def sft_push(scores, c: int) -> np.ndarray:
    """The cross-entropy gradient's descent direction on the four answer scores."""
    return np.eye(len(scores))[c] - _softmax(np.asarray(scores, dtype=float))


@functools.lru_cache(maxsize=None)
def _outcomes(k: int, generations: int) -> np.ndarray:
    """Every group of ``generations`` answers among ``k`` (made once, not per question)."""
    return np.array(list(itertools.product(range(k), repeat=generations)))


def grpo_push(scores, c: int, temperature: float, generations: int) -> np.ndarray:
    """GRPO's expected update direction on the four answer scores (exact over all 4^G outcomes)."""
    if not 2 <= generations <= 6:
        raise ValueError("generations must be 2..6 (the outcomes are enumerated)")
    k = len(scores)
    q = _softmax(np.asarray(scores, dtype=float) / temperature)
    outs = _outcomes(k, generations)
    prob = np.prod(q[outs], axis=1)
    r = (outs == c).astype(float)
    adv = (r - r.mean(1, keepdims=True)) / (r.std(1, ddof=1, keepdims=True) + 1e-4)
    eye = np.eye(k)
    push = np.zeros(k)
    for i in range(generations):
        push += (prob[:, None] * adv[:, i:i + 1] * (eye[outs[:, i]] - q)).sum(0)
    return push / (generations * temperature)


def answer_scores(engine, records, qa_dir, batch_size: int = 8, image_loader=None) -> list:
    """Teacher-forced log-probability of each option's direct answer (then EOS), per question."""
    import torch

    from robotr1_train.data import prompt_messages, record_images

    tok = engine.tokenizer
    eos = tok.eos_token_id
    out = []
    for start in range(0, len(records), batch_size):
        chunk = records[start:start + batch_size]
        reqs, targets = [], []
        for r in chunk:
            req = (prompt_messages(r), list(record_images(r, qa_dir, image_loader)))
            for letter in LETTERS:
                text = r["sft_direct"].replace(f"[[{r['answer']}]]", f"[[{letter}]]")
                reqs.append(req)
                targets.append(tok(text, add_special_tokens=False)["input_ids"] + [eos])
        batch = engine.encode(reqs)
        width = max(len(t) for t in targets)
        pad = tok.pad_token_id if tok.pad_token_id is not None else eos
        tgt = torch.tensor([t + [pad] * (width - len(t)) for t in targets])
        tmask = torch.tensor([[1] * len(t) + [0] * (width - len(t)) for t in targets])
        n_prompt = batch["input_ids"].shape[1]
        batch["input_ids"] = torch.cat([batch["input_ids"], tgt.to(batch["input_ids"].device)], 1)
        batch["attention_mask"] = torch.cat([batch["attention_mask"], tmask.to(batch["attention_mask"].device)], 1)
        if "mm_token_type_ids" in batch:
            mm = batch["mm_token_type_ids"]
            batch["mm_token_type_ids"] = torch.cat([mm, torch.zeros(mm.shape[0], width, dtype=mm.dtype)], 1)
        with torch.no_grad():
            logits = engine.model(**batch).logits[:, n_prompt - 1:-1].float()
        logp = torch.log_softmax(logits, -1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
        seq = (logp * tmask).sum(1).view(len(chunk), len(LETTERS))
        for r, s in zip(chunk, seq.tolist()):
            out.append({"id": r["id"], "type": r["type"], "scores": s, "correct": LETTERS.index(r["answer"])})
    return out


def shares(rows, temperatures, generations) -> dict:
    wrong = np.array([int(np.argmax(r["scores"])) != r["correct"] for r in rows])
    res = {"questions": len(rows), "greedy_accuracy": round(1 - float(wrong.mean()), 4), "share_on_wrong": {}}
    settings = [("sft", sft_push)]
    settings += [(f"grpo T={t:g} G={generations}", lambda s, c, t=t: grpo_push(s, c, t, generations))
                 for t in temperatures]
    for name, fn in settings:
        norm = np.array([np.linalg.norm(fn(np.array(r["scores"]), r["correct"])) for r in rows])
        res["share_on_wrong"][name] = round(float(norm[wrong].sum() / norm.sum()), 4) if norm.sum() else 0.0
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--qa", required=True, help="a build-qa directory (multiple-choice questions)")
    p.add_argument("--model", required=True, help="a run directory or model directory eval-qa can load")
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    p.add_argument("--generations", type=int, default=5, help="G, 2..6")
    p.add_argument("--max-questions", type=int, default=1000, help="a seeded random subset (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=8, help="questions per forward pass (x4 rows)")
    args = p.parse_args(argv)
    if not 2 <= args.generations <= 6 or any(t <= 0 for t in args.temperatures):
        print("error: --generations must be 2..6 and every --temperatures value > 0", file=sys.stderr)
        return 2
    from robotr1_data.errors import UsageError
    from robotr1_train.data import load_records
    from robotr1_train.engines.hf import HFEngine

    try:
        records = load_records(args.qa, None, -1)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Only questions whose direct answer names their letter can be re-scored with another letter.
    records = [r for r in records if r.get("answer") in tuple(LETTERS)
               and f"[[{r['answer']}]]" in str(r.get("sft_direct", ""))]
    if not records:
        print(f"error: no multiple-choice questions with a direct answer in '{args.qa}'; "
              "pass a build-qa directory of waypoint/current/movement questions", file=sys.stderr)
        return 2
    if args.max_questions and len(records) > args.max_questions:
        records = random.Random(args.seed).sample(records, args.max_questions)
    engine = HFEngine.from_checkpoint(args.model, device="cpu")
    res = shares(answer_scores(engine, records, args.qa, args.batch_size), args.temperatures, args.generations)
    print(f"{res['questions']} questions, greedy accuracy {res['greedy_accuracy']:.3f}; "
          "share of the expected update on the questions answered wrongly:")
    for name, v in res["share_on_wrong"].items():
        print(f"  {name:<16} {v:.2f}")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
