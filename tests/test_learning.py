"""``bench/learning.py`` end to end at toy size (about two minutes on an idle 2-core machine).

Only what is robust at this size is asserted: SFT learns the ``<think>…</think><answer>…</answer>``
format (the random base model never produces it), the SFT loss goes down, GRPO logs its rewards,
and the last stdout line is the documented JSON with every stage and question type. Accuracy
above chance needs the full-size run (docs/benchmarks.md, "Learning").
"""

import importlib.util
import json
import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

pytestmark = pytest.mark.train

BENCH = os.path.join(os.path.dirname(__file__), "..", "bench", "learning.py")
TYPES = ("waypoint", "current", "movement")


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_learning", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_learning_bench_toy_run(tmp_path, capsys):
    import torch

    torch.set_num_threads(1)
    bench = load_bench()
    out = tmp_path / "run"
    rc = bench.main([
        "--train-seed", "3", "--test-seed", "4", "--episodes", "1", "--test-episodes", "1",
        "--minutes", "30",  # the step counts below bound this run, not the clock
        "--work", str(tmp_path / "work"), "--out", str(out), "--stride", "10",
        "--sft-target", "answer", "--format-steps", "60",  # the two-stage start: answer, then the format
        "--sft-epochs", "4", "--sft-batch", "8", "--sft-lr", "5e-3",
        "--grpo-steps", "2", "--grpo-prompts", "2", "--num-generations", "2", "--eval-samples", "24",
    ])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["chance"] == 0.25
    assert set(summary) == {"chance", "base", "sft", "grpo"}
    for stage in ("base", "sft", "grpo"):
        assert set(summary[stage]) == set(TYPES) | {"all"}, summary[stage]
        assert all(0.0 <= v <= 1.0 for v in summary[stage].values())

    record = json.loads((out / "learning.json").read_text())
    evals = record["evals"]
    assert evals["base"]["all"]["format_rate"] == 0.0  # random weights: never the tagged format
    assert evals["sft"]["all"]["format_rate"] >= 0.5, evals["sft"]["all"]  # the direct stage taught it
    assert record["info"]["sft_format"]["steps"] == 60 and (out / "sft-format" / "final").is_dir()
    assert evals["sft"]["all"]["n"] == 24
    loss = [v for _, v in record["curves"]["sft"]["loss"]]
    assert len(loss) >= 6 and sum(loss[-3:]) < 0.8 * sum(loss[:3]), loss
    assert record["curves"]["grpo"]["reward"], "GRPO logged no reward"
    assert (out / "learning.png").stat().st_size > 1000
    # every held-out question's score is kept, so SFT and GRPO are compared question by question
    assert len(bench.per_question(str(out / "eval-grpo"))) == 24
    assert "paired_se" in record["info"]


def test_paired_standard_error_counts_only_the_questions_that_changed():
    bench = load_bench()
    a = {f"q{i}": 1.0 for i in range(100)}
    assert bench.paired_se(a, dict(a)) == 0.0  # the same answers: no uncertainty about the difference
    b = dict(a, **{f"q{i}": 0.0 for i in range(10)})  # 10 of 100 questions lost
    d = [-1.0] * 10 + [0.0] * 90
    mean = sum(d) / 100
    want = (sum((x - mean) ** 2 for x in d) / 99 / 100) ** 0.5
    assert abs(bench.paired_se(a, b) - want) < 1e-12
    assert abs(bench.paired_se(a, dict(b, extra=1.0)) - want) < 1e-12  # only questions both scored
    assert bench.paired_se({"x": 1.0}, {"x": 0.0}) != bench.paired_se({"x": 1.0}, {"x": 0.0})  # nan: too few


def test_training_curves_read_both_metric_namings(tmp_path):
    """The bench reads our metrics.jsonl names and TRL's log names (rewards/<fn>/mean beside /std)."""
    bench = load_bench()
    ours = [{"step": 1, "sft/loss": 2.0}, {"step": 2, "reward/mean": 1.2, "reward/format": 1.0, "accuracy": 0.2,
                                          "accuracy_by_type/current": 0.9}]
    trl = [{"step": 3, "loss": 1.5, "reward": 1.4, "rewards/format_reward/std": 0.3,
            "rewards/format_reward/mean": 0.9, "rewards/accuracy_reward/mean": 0.5}]
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in ours + trl) + "\n")
    c = bench.curves(bench.read_metrics(str(tmp_path)))
    assert c == {"loss": [(1, 2.0), (3, 1.5)], "reward": [(2, 1.2), (3, 1.4)], "format": [(2, 1.0), (3, 0.9)],
                 "accuracy": [(2, 0.2), (3, 0.5)]}


def test_distractor_rules_reach_build_qa_and_the_cache_name(tmp_path):
    """--movement-distractors / --state-distractors reach build-qa (its summary stores them), and the
    QA cache is keyed by them, so a run with the opt-in rules never reads a store built with the
    paper's; the paper's rules keep the cache name earlier runs wrote."""
    import argparse

    from test_qa import make_episode, write_shard

    bench = load_bench()
    shard_dir = tmp_path / "shards" / "seed0"
    write_shard(shard_dir / "a.h5", [make_episode(s) for s in range(3)])

    def build(movement, state):
        args = argparse.Namespace(work=str(tmp_path / "work"), stride=10, types="waypoint,current,movement",
                                  image_size=24, movement_distractors=movement, state_distractors=state)
        out = bench.questions(args, str(shard_dir))
        summary = json.loads(open(os.path.join(out, "summary.json")).read())
        return out, summary

    paper, paper_summary = build("adjacent", "workspace")
    opt_in, opt_summary = build("task", "trajectory")
    assert os.path.basename(paper).startswith("seed0-stride10-waypoint,current,movement-")
    assert "adjacent" not in os.path.basename(paper)
    assert "-task-trajectory-" in os.path.basename(opt_in)
    assert paper_summary["config"]["movement_distractors"] == "adjacent"
    assert paper_summary["config"]["state_distractors"] == "workspace"
    assert opt_summary["config"]["movement_distractors"] == "task"
    assert opt_summary["config"]["state_distractors"] == "trajectory"
    assert paper_summary["questions_sha256"] != opt_summary["questions_sha256"]
    # a second call with the same rules reuses the cached store (no rebuild: same mtime)
    mtime = os.path.getmtime(os.path.join(opt_in, "questions.jsonl"))
    assert build("task", "trajectory")[0] == opt_in
    assert os.path.getmtime(os.path.join(opt_in, "questions.jsonl")) == mtime
