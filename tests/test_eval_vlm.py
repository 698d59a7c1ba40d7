"""The VLM policy and offline QA evaluation on the tiny offline Qwen2.5-VL: runs end to end,
garbage answers are counted (never raised), numbers in the reports match the JSON."""

import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from robotr1_data.qa.templates import fmt_xyz  # noqa: E402
from robotr1_train.cli import main  # noqa: E402
from robotr1_train.evaluation.report import fmt  # noqa: E402
from robotr1_train.policies.vlm import parse_keypoint_answer, resolve_checkpoint  # noqa: E402
from robotr1_train.testing import build_tiny_vlm, synthetic_image_loader, synthetic_records  # noqa: E402

pytestmark = pytest.mark.train
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny_vlm_eval"), seed=0)


def test_parse_keypoint_answer():
    assert parse_keypoint_answer("<think>x</think><answer> [0.1, -0.2, 0.9] </answer>") == ((0.1, -0.2, 0.9), None)
    assert parse_keypoint_answer("<answer>[0.1, 0.2, 0.9] close</answer>") == ((0.1, 0.2, 0.9), False)
    assert parse_keypoint_answer("<answer>[0.1, 0.2, 0.9], open.</answer>") == ((0.1, 0.2, 0.9), True)
    for bad in (None, "", "garbage", "<answer>[[A]]</answer>", "<answer>[0.1, 0.2]</answer>",
                "<answer>[0.1, 0.2, 0.9] maybe</answer>", "<answer>[nan, 1, 2]</answer>", 42,
                "<answer>[1,2,3]</answer><answer>[1,2,3]</answer>", "<answer>" + "9" * 100000 + "</answer>"):
        assert parse_keypoint_answer(bad) == (None, None), bad


def test_tiny_vlm_eval_sim_end_to_end_counts_garbage(tiny_path, tmp_path, capsys):
    out = tmp_path / "eval"
    rc = main(["eval-sim", "--policy", f"vlm:{tiny_path}", "--tasks", "reach_target,push_button", "--episodes", "2",
               "--out", str(out), "--image-size", "64", "64", "--max-new-tokens", "12", "--max-keypoints", "3",
               "--video-every", "3"])
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    label = next(iter(res["summary"]))
    overall = res["summary"][label]["overall"]
    assert overall["episodes"] == 4 and overall["successes"] == 0
    assert sum(overall["failures"].values()) == 4 and overall["failures"]["error"] == 0
    # a randomly initialised model writes no parseable keypoint: counted as unparseable, with its text kept
    assert overall["failures"]["unparseable"] >= 1
    bad = [k for r in res["episodes"] for k in r["keypoints"] if k["status"] == "unparseable"]
    assert bad and all(isinstance(k["text"], str) for k in bad)
    for r in res["episodes"]:
        assert r["video"] and (out / r["video"]).is_file()
    assert (out / "report.md").is_file() and (out / "success.png").is_file()
    printed = capsys.readouterr().out
    assert f"{label}: success 0/4" in printed


class _Teacher:
    """A stand-in generator that answers the expert's next keypoint, as a perfect model would."""

    max_new_tokens, do_sample, temperature = 16, False, 1.0

    def __init__(self):
        self.waypoints, self.prompts, self.images = [], [], []

    def generate(self, records, images):
        self.prompts.append(records[0]["prompt"])
        self.images.append(images[0][0].shape)
        wp = self.waypoints.pop(0)
        return [f"<think>go</think><answer> {fmt_xyz(wp)} </answer>"]


def test_vlm_policy_drives_the_robot_with_parsed_answers(tmp_path):
    """Prompt -> answer -> parsed target -> controller: a perfect answerer solves reach_target."""
    from robotr1_data.sim.mujoco_sim import MujocoSim
    from robotr1_data.tasks.registry import get_task
    from robotr1_train.evaluation.closed_loop import EvalSimConfig, run_episode
    from robotr1_train.evaluation.controller import KeypointController
    from robotr1_train.policies.vlm import VLMPolicy

    teacher = _Teacher()
    policy = VLMPolicy("unused", image_size=(56, 56), generator=teacher)
    sim = MujocoSim(get_task("reach_target"), cameras=["front"], image_size=(64, 64), depth=False, mask=False)
    try:
        cfg = EvalSimConfig(out=str(tmp_path), video=False, max_keypoints=3)
        from robotr1_train.evaluation.seeds import eval_episode_seed

        sim.reset(0, np.random.default_rng(eval_episode_seed(0, "reach_target", 0)))
        teacher.waypoints = [np.asarray(w.pos) for w in sim.task.waypoints]
        rec = run_episode(sim, KeypointController(sim), policy, cfg, "reach_target", 0, "vlm-teacher")
    finally:
        sim.close()
    assert rec["success"], rec
    assert rec["keypoints"][0]["l1"] < 0.003  # 3-decimal answer vs the expert's keypoint
    assert "Current Robot State Position: [" in teacher.prompts[0] and "<image>" in teacher.prompts[0]
    assert rec["description"] in teacher.prompts[0]
    assert teacher.images[0] == (56, 56, 3)


def test_vlm_gripper_rule():
    from robotr1_train.policies import Observation
    from robotr1_train.policies.vlm import VLMPolicy

    class Fixed:
        max_new_tokens, do_sample, temperature = 8, False, 1.0

        def __init__(self, text):
            self.text = text

        def generate(self, records, images):
            return [self.text]

    obs = Observation("t", 0, "d", np.array([0.3, 0.0, 0.9]), True, {"front": np.zeros((8, 8, 3), np.uint8)},
                      np.zeros(7), 0)
    same = "<answer> [0.300, 0.005, 0.900] </answer>"
    away = "<answer> [0.300, 0.100, 0.900] </answer>"
    assert not VLMPolicy("x", generator=Fixed(same)).predict(obs).gripper_open  # stop in place: toggle
    assert VLMPolicy("x", generator=Fixed(away)).predict(obs).gripper_open
    assert VLMPolicy("x", gripper="keep", generator=Fixed(same)).predict(obs).gripper_open
    assert not VLMPolicy("x", generator=Fixed(away[:-10] + " close </answer>")).predict(obs).gripper_open


def test_resolve_checkpoint_run_dir_and_lora_adapter(tiny_path, tmp_path):
    from robotr1_data.errors import UsageError
    from robotr1_train.models import load_model_and_processor, save_processor
    from robotr1_train.policies.vlm import load_checkpoint

    run = tmp_path / "run"
    lp = load_model_and_processor(tiny_path, lora=True, lora_r=2, lora_alpha=4, device="cpu")
    lp.model.save_pretrained(run / "final")
    save_processor(lp.processor, run / "final")
    assert resolve_checkpoint(str(run)) == str(run / "final")
    model, processor = load_checkpoint(str(run), device="cpu")
    assert hasattr(model, "peft_config") and not model.training
    with pytest.raises(UsageError, match="holds no model"):
        resolve_checkpoint(str(tmp_path))


# --- eval-qa -------------------------------------------------------------------------------------
def _qa_store(path):
    recs = synthetic_records(6)
    for i, target in enumerate(([0.1, 0.2, 1.0], [0.3, -0.1, 0.9])):
        recs.append(dict(recs[0], id=f"open-{i}", type="waypoint_open", options={}, answer=fmt_xyz(target),
                         target=target, task="push_button"))
    path.mkdir()
    with open(path / "questions.jsonl", "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    return recs


def test_eval_qa_scores_and_counts_parse_failures(tmp_path):
    from robotr1_train.evaluation.offline_qa import EvalQAConfig, evaluate_qa

    recs = _qa_store(tmp_path / "qa")
    answers = {
        "syn-0000": "<think>a</think><answer> [[A]] </answer>",  # waypoint, correct (truth A)
        "syn-0001": "<answer> [[A]] </answer>",  # current, wrong (truth B), no think: format 0
        "syn-0002": "no tags at all",  # movement, unparseable
        "syn-0003": "<think>a</think><answer> D </answer>",  # waypoint, correct (truth D)
        "syn-0004": "<answer> [[E]] </answer>",  # current, unparseable letter
        "syn-0005": None,  # movement: the generator gave nothing
        "open-0": "<think>a</think><answer> [0.150, 0.200, 1.000] </answer>",  # L1 0.05
        "open-1": "<answer> somewhere </answer>",  # unparseable
    }
    res = evaluate_qa(EvalQAConfig(qa=str(tmp_path / "qa"), model="fake", out=str(tmp_path / "out"),
                                   show_progress=False),
                      generate_fn=lambda rs, ims: [answers[r["id"]] for r in rs], image_loader=synthetic_image_loader)
    bt = res["by_type"]
    assert list(bt) == ["waypoint", "current", "movement", "waypoint_open"]
    assert (bt["waypoint"]["accuracy"], bt["waypoint"]["parse_failures"]) == (1.0, 0)
    assert (bt["current"]["accuracy"], bt["current"]["parse_failures"]) == (0.0, 1)
    assert (bt["movement"]["accuracy"], bt["movement"]["parse_failures"]) == (0.0, 2)
    assert bt["waypoint_open"]["mean_l1"] == pytest.approx(0.05)
    assert bt["waypoint_open"]["accuracy"] == pytest.approx(0.95 / 2)
    assert bt["waypoint_open"]["parse_failure_rate"] == 0.5
    o = res["overall"]
    assert o["n"] == len(recs) and o["parse_failures"] == 4 and o["parse_failure_rate"] == 0.5
    assert res["by_task"]["push_button"]["waypoint_open"]["n"] == 2
    assert res["by_task"]["pick_up_cup"]["waypoint"]["n"] == 2


def test_eval_qa_cli_on_tiny_model_and_report_matches_json(tiny_path, tmp_path, monkeypatch, capsys):
    import robotr1_train.data as data

    monkeypatch.setattr(data, "default_image_loader", synthetic_image_loader)
    recs = _qa_store(tmp_path / "qa")
    out = tmp_path / "out"
    assert main(["eval-qa", "--qa", str(tmp_path / "qa"), "--model", tiny_path, "--out", str(out),
                 "--max-new-tokens", "8", "--batch-size", "3", "--quiet"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["overall"]["n"] == len(recs)
    assert res["overall"]["parse_failures"] >= 1  # garbage from a random model is counted
    assert (out / "accuracy.png").is_file()
    text = (out / "report.md").read_text()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| task")]
    seen = 0
    for task, qtype, n, acc, fails, rate, frate, l1 in rows:
        if task == "all":
            a = res["overall"] if qtype == "all" else res["by_type"][qtype]
        else:
            a = res["by_task"][task][qtype]
        assert (int(n), acc, int(fails), rate, frate, l1) == (
            a["n"], fmt(a["accuracy"]), a["parse_failures"], fmt(a["parse_failure_rate"]), fmt(a["format_rate"]),
            fmt(a["mean_l1"]))
        seen += 1
    assert seen == 5 + 4  # 4 types + all, then 3 types of pick_up_cup + 1 of push_button
    assert "waypoint_open: accuracy" in capsys.readouterr().out


def test_eval_qa_bad_input_is_one_line(tmp_path, capsys):
    assert main(["eval-qa", "--qa", str(tmp_path / "none"), "--model", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("robotr1-train: error:")
