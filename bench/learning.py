"""Learning, end to end on CPU: does training on our own questions teach the model anything held out?

    python bench/learning.py --train-seed 0 --test-seed 1 [--episodes 16] [--minutes 25]

1. ``robotr1-data generate`` the five Robot-R1 tasks (front camera, small images) with the training
   seed and, separately, with the held-out seed; ``robotr1-data build-qa`` on each.
2. ``robotr1-train make-tiny-model --tokenizer-qa TRAIN_QA``: the tiny offline Qwen2.5-VL, random
   weights, with a tokenizer trained on the training questions (fixed sentences become a few tokens,
   digits one by one): ~120-token prompts instead of ~520, so an SFT update costs ~2.4x less.
3. ``robotr1-train eval-qa`` on the held-out questions (base); the warm start: ``robotr1-train sft``
   on the ``direct`` target (the answer after an empty ``<think></think>``: the
   ``<think>…</think><answer>…</answer>`` format GRPO's format reward asks for; 8 epochs at lr 1e-3,
   32 questions per update); eval again; ``robotr1-train grpo`` from that model (32 prompts × G = 5
   per step, lr 2e-4, sampling temperature 2.0); eval again.

Why temperature 2.0: after SFT the model is confident, and at 1.0 most groups of five samples give
the same answer (half the groups at first, nine in ten by the end: zero advantage, no gradient);
at 2.0 nearly every group differs (docs/benchmarks.md, "GRPO on top").
``--sft-target answer --format-steps N`` is the older two-stage start (the answer tag alone, then N
``direct`` updates), which the built-in tokenizer needed. Results and what they show are in
docs/benchmarks.md ("Learning").

Every step goes through the two CLIs (in this process), so the benchmark measures what a user runs.
Shards, questions and the tiny model are cached under ``--work`` (keyed by their settings); each run
writes its run directories, ``learning.json`` and ``learning.png`` (training curves and held-out
accuracy per stage) under ``--out``.

``--minutes`` bounds the whole run: evaluation and data take what they take, the rest is split
between SFT and GRPO. Each training stage first runs a few of its planned steps (a tenth, at most
20), times them, and then resumes (``--resume``) up to as many steps as its share of the time allows.

The last stdout line is one JSON object: ``{"chance": 0.25, "base": {...}, "sft": {...}, "grpo":
{...}}``, each stage the held-out accuracy per question type plus ``"all"``. ``--markdown FILE``
appends the results table.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import math
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

TASKS = ("pick_up_cup", "push_button", "put_rubbish_in_bin", "phone_on_base", "take_lid_off_saucepan")
STAGES = ("base", "sft", "grpo")
CHANCE = 0.25


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train-seed", type=int, default=0, help="seed of the training demos")
    p.add_argument("--test-seed", type=int, default=1, help="seed of the held-out demos (must differ)")
    p.add_argument("--episodes", type=int, default=12, help="training demos per task")
    p.add_argument("--test-episodes", type=int, default=4, help="held-out demos per task")
    p.add_argument("--minutes", type=float, default=25.0, help="wall-time bound of the whole run")
    p.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "robotr1-learning"),
                   help="cache of shards, questions and the tiny model (reused across runs)")
    p.add_argument("--out", default=None, help="run output directory (default: WORK/runs/<time>)")
    p.add_argument("--markdown", default=None, help="append the results table to this file")
    p.add_argument("--plot", default=None, help="also copy the plot here (e.g. docs/images/learning.png)")
    d = p.add_argument_group("data")
    d.add_argument("--image-size", type=int, default=56, help="rendered and question image side in pixels")
    d.add_argument("--image-every", type=int, default=5, help="render every K-th step (and every keypoint)")
    d.add_argument("--stride", type=int, default=5, help="build-qa: a current frame every N steps")
    d.add_argument("--types", default="waypoint,current,movement", help="question types")
    d.add_argument("--movement-distractors", default="adjacent", choices=("adjacent", "random", "task"),
                   help="build-qa's movement distractor rule (adjacent: the paper's; task: no text cue)")
    d.add_argument("--state-distractors", default="workspace", choices=("workspace", "trajectory"),
                   help="build-qa's state distractor rule (workspace: the paper's; trajectory: the demo's own)")
    d.add_argument("--tokenizer", choices=("qa", "builtin"), default="qa",
                   help="the tiny model's tokenizer: qa = trained on the training questions (~120-token "
                        "prompts), builtin = make-tiny-model's default (~520)")
    d.add_argument("--vocab-size", type=int, default=1024, help="vocabulary of the qa tokenizer")
    s = p.add_argument_group("sft")
    s.add_argument("--sft-target", choices=("cot", "direct", "answer"), default="direct",
                   help="direct: the answer after an empty <think> (~20 tokens); answer: the answer tag alone "
                        "(no format reward); cot: Plan/Subtask/Move (~130)")
    s.add_argument("--sft-lr", type=float, default=1e-3)
    s.add_argument("--sft-epochs", type=int, default=8)
    s.add_argument("--sft-batch", type=int, default=32, help="questions per update")
    s.add_argument("--format-steps", type=int, default=0,
                   help="after SFT, this many updates on the direct target from the SFT model (teaches "
                        "the <think> format to an --sft-target answer model); GRPO and the sft row start there")
    g = p.add_argument_group("grpo")
    g.add_argument("--grpo-steps", type=int, default=300, help="planned GRPO steps (one update per rollout)")
    g.add_argument("--grpo-prompts", type=int, default=32, help="questions per rollout")
    g.add_argument("--num-generations", type=int, default=5, help="G")
    g.add_argument("--grpo-lr", type=float, default=2e-4)
    g.add_argument("--kl-coef", type=float, default=0.0)
    g.add_argument("--temperature", type=float, default=2.0,
                   help="rollout sampling temperature (1.0 leaves most groups of a confident model unanimous)")
    g.add_argument("--top-k", type=int, default=0,
                   help="sample rollouts from the k likeliest tokens only (0: all)")
    e = p.add_argument_group("evaluation and budget")
    e.add_argument("--eval-samples", type=int, default=-1, help="held-out questions per stage (-1: all)")
    e.add_argument("--max-new-tokens", type=int, default=None,
                   help="response length for GRPO and evaluation (default: longest SFT target + 16)")
    e.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="torch CPU threads for training and evaluation (default: every core)")
    e.add_argument("--sft-share", type=float, default=0.7, help="share of the training time that SFT gets")
    e.add_argument("--eval-share", type=float, default=0.1, help="time planned for the three evaluations")
    args = p.parse_args(argv)
    if args.train_seed == args.test_seed:
        p.error("--train-seed and --test-seed must differ (held-out demos need their own seed)")
    return args


# ----------------------------------------------------------------------------------------------
# the CLIs, in process


def cli(module: str, argv: list) -> None:
    """Run ``robotr1-data`` / ``robotr1-train`` with ``argv``; their own prints go to stderr."""
    if module == "data":
        from robotr1_data.cli import main
    else:
        from robotr1_train.cli import main
    print(f"$ robotr1-{module} {' '.join(argv)}", file=sys.stderr, flush=True)
    with contextlib.redirect_stdout(sys.stderr):
        rc = main(list(argv))
    if rc:
        raise SystemExit(f"robotr1-{module} {argv[0]} failed with exit code {rc}")


def shards(args, seed: int, episodes: int) -> str:
    out = os.path.join(args.work, "shards", f"seed{seed}-n{episodes}-img{args.image_size}-every{args.image_every}")
    if not os.path.isfile(os.path.join(out, "summary.json")):
        cli("data", ["generate", "--tasks", *TASKS, "--episodes", str(episodes), "--out", out, "--seed", str(seed),
                     "--cameras", "front", "--image-size", str(args.image_size), str(args.image_size),
                     "--image-every", str(args.image_every), "--no-depth", "--no-mask", "--quiet"])
    return out


def questions(args, shard_dir: str) -> str:
    from robotr1_data.qa.templates import TEMPLATE_VERSION

    version = TEMPLATE_VERSION.replace("/", "")
    rules = ""  # the paper's rules keep the cache names earlier runs wrote
    if (args.movement_distractors, args.state_distractors) != ("adjacent", "workspace"):
        rules = f"-{args.movement_distractors}-{args.state_distractors}"
    out = os.path.join(args.work, "qa",
                       f"{os.path.basename(shard_dir)}-stride{args.stride}-{args.types}{rules}-{version}")
    if not os.path.isfile(os.path.join(out, "summary.json")):
        cli("data", ["build-qa", shard_dir, "--out", out, "--types", args.types, "--stride", str(args.stride),
                     "--image-size", str(args.image_size), str(args.image_size),
                     "--movement-distractors", args.movement_distractors,
                     "--state-distractors", args.state_distractors, "--quiet"])
    return out


def tiny_model(args, train_qa: str) -> str:
    if args.tokenizer == "builtin":
        out = os.path.join(args.work, "tiny-vlm")
        cli("train", ["make-tiny-model", "--out", out, "--seed", "0"])
        return out
    # A tokenizer trained on the training questions (the built-in one splits this prompt into ~520
    # tokens, this one ~120): a real VLM's tokenizer knows these words, and each SFT update gets ~2.4x cheaper.
    out = os.path.join(args.work, "tiny-vlm-qa", f"{os.path.basename(train_qa)}-v{args.vocab_size}")
    cli("train", ["make-tiny-model", "--out", out, "--seed", "0", "--tokenizer-qa", train_qa,
                  "--vocab-size", str(args.vocab_size)])
    return out


# ----------------------------------------------------------------------------------------------
# training stages


def read_metrics(run_dir: str) -> list:
    """The run's logged steps: ``metrics.jsonl``, else the newest ``trainer_state.json`` log history."""
    path = os.path.join(run_dir, "metrics.jsonl")
    if os.path.isfile(path):
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    states = sorted(glob.glob(os.path.join(run_dir, "**", "trainer_state.json"), recursive=True),
                    key=os.path.getmtime)
    if states:
        with open(states[-1]) as f:
            return [r for r in json.load(f).get("log_history", []) if "step" in r]
    return []


def first_key(row: dict, *names, contains=()):
    for n in names:
        if n in row and row[n] is not None:
            return float(row[n])
    # TRL's names: e.g. rewards/format/mean beside rewards/format/std and per-type breakdowns
    keys = [k for k, v in row.items() if contains and all(c in k for c in contains)
            and isinstance(v, (int, float)) and "std" not in k and "by_type" not in k]
    keys.sort(key=lambda k: not k.endswith("mean"))
    return float(row[keys[0]]) if keys else None


def curves(rows: list) -> dict:
    """step-indexed training curves under stable names (loss, reward, format, accuracy)."""
    out = {"loss": [], "reward": [], "format": [], "accuracy": []}
    for r in rows:
        step = r.get("step")
        vals = {
            "loss": first_key(r, "sft/loss", "loss"),
            "reward": first_key(r, "reward/mean", "reward"),
            "format": first_key(r, "reward/format", contains=("format",)),
            "accuracy": first_key(r, "accuracy", "reward/accuracy", contains=("accuracy",)),
        }
        for k, v in vals.items():
            if v is not None and step is not None and math.isfinite(v):
                out[k].append((int(step), v))
    return out


def train(command: list, planned_steps: int, budget_s: float, out: str) -> dict:
    """Run ``command`` for a few of ``planned_steps``, then resume to what ``budget_s`` allows."""
    first = min(planned_steps, max(2, min(planned_steps // 10, 20)))
    t0 = time.perf_counter()
    cli("train", command + ["--out", out, "--set", f"max_steps={first}"])
    dt = time.perf_counter() - t0
    # Steps are timed by the trainer's own train_runtime; loading and saving (dt minus that) are
    # paid again by the resumed call. Timing them as steps cut SFT ~50 updates short of its plan.
    runtime = next((r["train_runtime"] for r in reversed(read_metrics(out)) if "train_runtime" in r), None)
    train_s = runtime if runtime and 0 < runtime <= dt else dt
    per_step, overhead = train_s / first, dt - train_s
    total = first
    if planned_steps > first:
        total = int(min(planned_steps, first + max(0.0, budget_s - dt - overhead) / per_step))
        if total > first:
            cli("train", command + ["--out", out, "--resume", "--set", f"max_steps={total}"])
    return {"steps": total, "planned_steps": planned_steps, "seconds": round(time.perf_counter() - t0, 1)}


def evaluate(args, test_qa: str, model: str, out: str, max_new_tokens: int, cached: bool = False) -> dict:
    if not cached:
        cli("train", ["eval-qa", "--qa", test_qa, "--model", model, "--out", out, "--batch-size", "32",
                      "--max-new-tokens", str(max_new_tokens), "--max-samples", str(args.eval_samples),
                      "--keep-samples", str(KEEP_ALL), "--quiet"])
    with open(os.path.join(out, "results.json")) as f:
        res = json.load(f)
    rows = dict(res["by_type"], all=res["overall"])
    return {t: {"accuracy": a["accuracy"], "n": a["n"], "format_rate": a.get("format_rate"),
                "parse_failure_rate": a.get("parse_failure_rate")} for t, a in rows.items()}


def target_tokens(model: str, qa: str, target: str, limit: int = 2000) -> int:
    """Longest SFT target in tokens (first ``limit`` questions): the response length GRPO and eval need."""
    from transformers import AutoTokenizer

    from robotr1_train.trl_data import target_text

    tok = AutoTokenizer.from_pretrained(model)
    with open(os.path.join(qa, "questions.jsonl")) as f:
        texts = [target_text(json.loads(line), target) for _, line in zip(range(limit), f)]
    return max(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)


def n_questions(qa: str) -> int:
    with open(os.path.join(qa, "questions.jsonl")) as f:
        return sum(1 for line in f if line.strip())


# ----------------------------------------------------------------------------------------------
# reporting


KEEP_ALL = 10 ** 9  # eval-qa keeps every question's score: the stages are compared question by question


def per_question(out: str) -> dict:
    """question id -> accuracy (0 or 1) of one eval-qa run, from its kept samples."""
    with open(os.path.join(out, "results.json")) as f:
        return {s["id"]: float(s["accuracy"]) for s in json.load(f).get("samples", [])}


def paired_se(a: dict, b: dict) -> float:
    """Standard error of the mean of b - a over the questions both runs scored: the same
    questions in both stages, so their shared difficulty cancels (a paired comparison)."""
    ids = sorted(set(a) & set(b))
    if len(ids) < 2:
        return float("nan")
    d = [b[i] - a[i] for i in ids]
    mean = sum(d) / len(d)
    return math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1) / len(d))


def se(p, n) -> float:
    return math.sqrt(max(p * (1 - p), 0.0) / n) if n else float("nan")


def summary_json(evals: dict) -> dict:
    return {"chance": CHANCE, **{s: {t: round(v["accuracy"], 4) for t, v in evals[s].items()} for s in STAGES}}


def table(evals: dict, info: dict) -> str:
    types = list(evals["base"])
    lines = ["| stage | " + " | ".join(f"{t} (n={evals['base'][t]['n']})" for t in types) + " | format |",
             "|---|" + "---:|" * (len(types) + 1)]
    for s in STAGES:
        cells = [f"{evals[s][t]['accuracy']:.3f} ± {se(evals[s][t]['accuracy'], evals[s][t]['n']):.3f}"
                 for t in types]
        fmt = evals[s]["all"].get("format_rate")
        lines.append(f"| {s} | " + " | ".join(cells) + (f" | {fmt:.2f} |" if fmt is not None else " | - |"))
    a, b = evals["sft"]["all"], evals["grpo"]["all"]
    diff = b["accuracy"] - a["accuracy"]
    sed = math.sqrt(se(a["accuracy"], a["n"]) ** 2 + se(b["accuracy"], b["n"]) ** 2)
    psd = info.get("paired_se", float("nan"))
    paired = (f"{diff / psd:+.1f} standard errors of the paired difference, "
              if psd and math.isfinite(psd) else "")
    lines += ["", f"Chance {CHANCE:.2f}. GRPO − SFT on all held-out questions: {100 * diff:+.1f} points "
              f"({paired}{diff / sed if sed else float('nan'):+.1f} unpaired); "
              f"GRPO − chance: {100 * (b['accuracy'] - CHANCE):+.1f} points. ± is one standard error. "
              f"Wall time {info['seconds'] / 60:.1f} min on {info.get('machine', 'this machine')}; "
              f"SFT {info['sft']['steps']} steps, GRPO {info['grpo']['steps']} steps."]
    return "\n".join(lines)


def plot(path: str, evals: dict, train_curves: dict) -> str:
    import cv2

    from bench._plot import line_chart, side_by_side
    from robotr1_train.evaluation.report import bar_chart

    sft, grpo = train_curves["sft"], train_curves["grpo"]
    loss = sft["loss"]
    top = max([v for _, v in loss] + [1e-3])
    left = line_chart(None, {"SFT loss (per token)": [(x, v / top) for x, v in loss]},
                      title=f"SFT (loss / {top:.2f})", xlabel="step", ylabel="normalised loss")
    mid = line_chart(None, {k: smooth(grpo[k]) for k in ("reward", "format", "accuracy") if grpo[k]},
                     title="GRPO training rollouts (moving mean)", xlabel="step", ylabel="reward",
                     ymax=2.0, hlines={"chance accuracy": CHANCE})
    types = list(evals["base"])
    tmp = path + ".bars.png"
    bar_chart(tmp, types, {s: [evals[s][t]["accuracy"] for t in types] for s in STAGES},
              intervals={s: [(max(0, evals[s][t]["accuracy"] - se(evals[s][t]["accuracy"], evals[s][t]["n"])),
                              evals[s][t]["accuracy"] + se(evals[s][t]["accuracy"], evals[s][t]["n"]))
                             for t in types] for s in STAGES},
              title="held-out accuracy (chance 0.25)", ylabel="accuracy")
    bars = cv2.cvtColor(cv2.imread(tmp), cv2.COLOR_BGR2RGB)
    os.remove(tmp)
    return side_by_side(path, [left, mid, bars])


def smooth(points, k: int = 10):
    out = []
    for i in range(len(points)):
        win = points[max(0, i - k + 1): i + 1]
        out.append((points[i][0], sum(v for _, v in win) / len(win)))
    return out


# ----------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # read by torch's pool before its first op
    import torch

    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    budget = args.minutes * 60.0
    out = args.out or os.path.join(args.work, "runs", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    train_qa = questions(args, shards(args, args.train_seed, args.episodes))
    test_qa = questions(args, shards(args, args.test_seed, args.test_episodes))
    model = tiny_model(args, train_qa)
    targets = [args.sft_target] + (["direct"] if args.format_steps > 0 else [])
    max_new = args.max_new_tokens or max(target_tokens(model, train_qa, t) for t in targets) + 16
    n_train = n_questions(train_qa)

    evals, info = {}, {}
    t0 = time.perf_counter()
    # The base model and its greedy answers depend only on the cached inputs: evaluate it once.
    base_dir = os.path.join(args.work, "eval-base", f"{os.path.basename(test_qa)}-n{args.eval_samples}-t{max_new}")
    evals["base"] = evaluate(args, test_qa, model, base_dir, max_new,
                             cached=os.path.isfile(os.path.join(base_dir, "results.json")))
    t_eval = time.perf_counter() - t0
    left = budget - (time.perf_counter() - t_start) - max(2 * t_eval, args.eval_share * budget)
    sft_budget, grpo_budget = args.sft_share * left, (1 - args.sft_share) * left

    def sft_cmd(start: str, target: str) -> list:
        return ["sft", "--qa", train_qa, "--model", start, "--target", target,
                "--set", f"learning_rate={args.sft_lr}", "--set", f"epochs={args.sft_epochs}",
                "--set", f"global_batch_size={args.sft_batch}", "--set", "micro_batch_size=16",
                "--set", f"max_response_length={max_new}", "--set", f"seed={args.train_seed}"]

    sft_steps = args.sft_epochs * max(1, n_train // args.sft_batch)
    info["sft"] = train(sft_cmd(model, args.sft_target), sft_steps, sft_budget, os.path.join(out, "sft"))
    sft_model = os.path.join(out, "sft", "final")
    if args.format_steps > 0:  # a fixed count, not budgeted: the format needs its few updates whole
        t_fmt = time.perf_counter()
        cli("train", sft_cmd(sft_model, "direct") + ["--set", f"max_steps={args.format_steps}",
                                                     "--out", os.path.join(out, "sft-format")])
        sft_model = os.path.join(out, "sft-format", "final")
        info["sft_format"] = {"steps": args.format_steps, "seconds": round(time.perf_counter() - t_fmt, 1)}
        sft_budget -= info["sft_format"]["seconds"]  # GRPO gets what SFT and this stage left
    evals["sft"] = evaluate(args, test_qa, sft_model, os.path.join(out, "eval-sft"), max_new)

    grpo_budget += sft_budget - info["sft"]["seconds"]
    grpo_budget = min(grpo_budget, budget - (time.perf_counter() - t_start) - 1.2 * t_eval)
    grpo_cmd = ["grpo", "--qa", train_qa, "--model", sft_model,
                "--set", f"learning_rate={args.grpo_lr}", "--set", "epochs=100",
                "--set", f"num_generations={args.num_generations}", "--set", f"temperature={args.temperature}",
                "--set", f"top_k={args.top_k}",
                "--set", f"max_response_length={max_new}", "--set", f"rollout_batch_size={args.grpo_prompts}",
                "--set", f"global_batch_size={args.grpo_prompts}", "--set", "micro_batch_size=32",
                "--set", f"kl_coef={args.kl_coef}", "--set", f"seed={args.train_seed}"]
    info["grpo"] = train(grpo_cmd, args.grpo_steps, grpo_budget, os.path.join(out, "grpo"))
    evals["grpo"] = evaluate(args, test_qa, os.path.join(out, "grpo", "final"), os.path.join(out, "eval-grpo"),
                             max_new)

    info["paired_se"] = paired_se(per_question(os.path.join(out, "eval-sft")),
                                  per_question(os.path.join(out, "eval-grpo")))
    info["seconds"] = round(time.perf_counter() - t_start, 1)
    info["machine"] = (f"{os.cpu_count()} cores, load average {os.getloadavg()[1]:.1f} (5 min) at the end"
                       if hasattr(os, "getloadavg") else f"{os.cpu_count()} cores")
    train_curves = {s: curves(read_metrics(os.path.join(out, s))) for s in ("sft", "grpo")}
    png = plot(os.path.join(out, "learning.png"), evals, train_curves)
    if args.plot:
        import shutil

        os.makedirs(os.path.dirname(os.path.abspath(args.plot)), exist_ok=True)
        shutil.copyfile(png, args.plot)
    settings = {k: v for k, v in vars(args).items() if k not in ("markdown", "plot")}
    record = {"settings": settings, "train_questions": n_train, "max_new_tokens": max_new, "info": info,
              "evals": evals, "curves": train_curves, "summary": summary_json(evals)}
    with open(os.path.join(out, "learning.json"), "w") as f:
        json.dump(record, f, indent=1)
    text = table(evals, info)
    print(text, file=sys.stderr)
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write(text + "\n")
    print(f"run in {out}", file=sys.stderr)
    print(json.dumps(summary_json(evals)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
