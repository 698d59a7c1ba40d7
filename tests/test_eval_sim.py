"""Closed-loop evaluation: oracle succeeds on every task, noop never, random far below; failures
are counted by reason, workers do not change results, eval seeds stay off the training stream."""

import copy
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from robotr1_data.record import episode_seed, seed_int  # noqa: E402
from robotr1_data.tasks.registry import all_tasks, get_task  # noqa: E402
from robotr1_train.evaluation.closed_loop import FAILURE_REASONS, EvalSimConfig, evaluate, run_episode  # noqa: E402
from robotr1_data.backends.mujoco.keypoint_env import MujocoKeypointEnv  # noqa: E402
from robotr1_train.evaluation.controller import KeypointController  # noqa: E402
from robotr1_train.evaluation.seeds import EVAL_STREAM, check_overlap, eval_episode_seed  # noqa: E402
from robotr1_train.policies import KeypointTarget, Policy, PolicyOutputError, make_policy  # noqa: E402

TASKS = sorted(all_tasks())
ORACLE_EPISODES = 10


def _cfg(tmp, **kw):
    kw.setdefault("video", False)
    kw.setdefault("show_progress", False)
    return EvalSimConfig(out=str(tmp), **kw)


@pytest.fixture(scope="module")
def oracle_noop(tmp_path_factory):
    """One run: oracle (10 seeds) and noop on every registered task."""
    out = tmp_path_factory.mktemp("eval_oracle")
    oracle = evaluate(_cfg(out / "oracle", policies=["oracle"], episodes=ORACLE_EPISODES))
    noop = evaluate(_cfg(out / "noop", policies=["noop"], episodes=3, max_keypoints=5))
    return oracle, noop


@pytest.mark.parametrize("task", TASKS)
def test_oracle_succeeds_95_percent_on_every_task(oracle_noop, task):
    oracle, _ = oracle_noop
    entry = oracle["summary"]["oracle"]["tasks"][task]
    failed = [(r["episode"], r["reason"], r["detail"]) for r in oracle["episodes"]
              if r["task"] == task and not r["success"]]
    assert entry["episodes"] == ORACLE_EPISODES
    assert entry["success_rate"] >= 0.95, f"oracle on {task}: {entry['success_rate']:.2f}; failures {failed}"
    # the oracle's predictions are the expert's keypoints
    assert entry["mean_keypoint_l1"] is None or entry["mean_keypoint_l1"] < 0.05


def test_noop_never_succeeds(oracle_noop):
    _, noop = oracle_noop
    overall = noop["summary"]["noop"]["overall"]
    assert overall["successes"] == 0, [r["task"] for r in noop["episodes"] if r["success"]]
    assert overall["failures"]["timeout"] == overall["episodes"] == 3 * len(TASKS)
    assert all(r["keypoints_used"] == 5 for r in noop["episodes"])


def test_random_is_far_below_oracle(oracle_noop, tmp_path):
    oracle, _ = oracle_noop
    res = evaluate(_cfg(tmp_path, policies=["random"], episodes=2, max_keypoints=6))
    rnd = res["summary"]["random"]["overall"]
    orc = oracle["summary"]["oracle"]["overall"]
    assert rnd["episodes"] == 2 * len(TASKS)
    assert rnd["success_rate"] <= 0.3 and rnd["success_rate"] <= orc["success_rate"] - 0.5
    assert sum(rnd["failures"].values()) + rnd["successes"] == rnd["episodes"]
    assert set(rnd["failures"]) == set(FAILURE_REASONS) and rnd["failures"]["error"] == 0
    # reproducible: same seed, same random targets
    again = evaluate(_cfg(tmp_path / "again", policies=["random"], episodes=2, max_keypoints=6,
                          tasks=[TASKS[0]]))
    first = [r for r in res["episodes"] if r["task"] == TASKS[0]]
    assert [[k["pred"] for k in r["keypoints"]] for r in first] == \
        [[k["pred"] for k in r["keypoints"]] for r in again["episodes"]]


def test_workers_do_not_change_results(tmp_path):
    kw = dict(policies=["oracle", "noop"], tasks=["push_button", "reach_target"], episodes=3, max_keypoints=4)
    one = evaluate(_cfg(tmp_path / "one", **kw))
    two = evaluate(_cfg(tmp_path / "two", workers=2, **kw))

    def strip(eps):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in eps]

    assert strip(one["episodes"]) == strip(two["episodes"])
    assert one["summary"] == two["summary"]


# --- failures are counted, never raised --------------------------------------------------------
class _Scripted(Policy):
    name = "scripted"

    def __init__(self, behaviour):
        self.behaviour = behaviour

    def predict(self, obs):
        b = self.behaviour
        if b == "garbage":
            raise PolicyOutputError("unparseable", "no answer", text="lorem ipsum")
        if b == "crash":
            raise RuntimeError("policy bug")
        if b == "far":
            return KeypointTarget([3.0, 3.0, 3.0], True)
        if b == "nan":
            return KeypointTarget([np.nan, 0.0, 1.0], True)
        if b == "ik":  # inside the workspace box, but the far top corner is out of the arm's reach
            return KeypointTarget([0.6, 0.45, 1.45], True)
        raise AssertionError(b)


@pytest.fixture(scope="module")
def reach_sim():
    from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim

    sim = MujocoSim(get_task("reach_target"))
    yield sim
    sim.close()


@pytest.mark.parametrize("behaviour,reason", [("garbage", "unparseable"), ("crash", "error"),
                                              ("far", "unreachable"), ("nan", "unreachable"),
                                              ("ik", "unreachable")])
def test_bad_policy_output_is_a_counted_failure(reach_sim, tmp_path, behaviour, reason):
    cfg = _cfg(tmp_path)
    rec = run_episode(MujocoKeypointEnv(reach_sim), _Scripted(behaviour), cfg, "reach_target", 0, "scripted")
    assert not rec["success"] and rec["reason"] == reason, rec
    assert rec["keypoints_used"] == (0 if behaviour == "crash" else 1)


def test_controller_replays_the_expert(reach_sim):
    """Executing the task's waypoints reaches each within the expert's tolerance."""
    reach_sim.reset(0, np.random.default_rng(5))
    ctl = KeypointController(reach_sim)
    oracle = make_policy("oracle")
    from robotr1_train.policies import EpisodeContext, Observation

    oracle.reset(EpisodeContext("reach_target", 0, [], 5, np.random.default_rng(0), ctl.default_quat(),
                                copy.deepcopy(reach_sim.task.waypoints)))
    obs = Observation("reach_target", 0, "", reach_sim.tcp_position(), True, {}, reach_sim.tcp_pose(), 0)
    target = oracle.predict(obs)
    res = ctl.execute(target)
    assert res.status == "done" and res.tracking_error < 0.015 and res.steps <= ctl.config.max_steps
    assert reach_sim.task.success()[0]


# --- seeds -------------------------------------------------------------------------------------
def test_eval_seeds_are_off_the_training_stream():
    for task in ("push_button", "stack_blocks"):
        train = {seed_int(episode_seed(s, task, e, a)) for s in range(3) for e in range(20) for a in range(10)}
        evals = {eval_episode_seed(s, task, e) for s in range(3) for e in range(20)}
        assert len(evals) == 60 and not (train & evals)
    assert eval_episode_seed(0, "push_button", 3) == eval_episode_seed(0, "push_button", 3)
    assert EVAL_STREAM > 10**6


def test_seed_check_finds_overlap_through_train_data_and_run_dir(tmp_path, capsys):
    import json

    import yaml

    from robotr1_data.generate import GenerateConfig, generate
    from robotr1_data.shards import ShardReader

    data = tmp_path / "data"
    generate(GenerateConfig(tasks=["reach_target"], episodes=2, out=str(data), seed=11, cameras=[]),
             show_progress=False)
    shard = next(data.rglob("*.h5"))
    with ShardReader(shard) as r:
        used = r.attrs(r.episodes[1])["seed"]
    clean = {"reach_target": [eval_episode_seed(11, "reach_target", e) for e in range(3)]}
    rep = check_overlap(clean, [str(data)])
    assert rep["checked"] and rep["training_episodes"] == 2 and rep["overlap"] == []
    # an evaluation that (wrongly) reuses a training seed is flagged
    rep = check_overlap({"reach_target": [clean["reach_target"][0], used]}, [str(data)])
    assert rep["overlap"] == [{"task": "reach_target", "episode": 1, "seed": used}]
    assert "reuse a training seed" in capsys.readouterr().err
    # a run directory leads to its shards: config.yaml -> run.qa -> summary.json shards
    qa = tmp_path / "qa"
    qa.mkdir()
    (qa / "summary.json").write_text(json.dumps({"shards": [os.path.relpath(shard, qa)]}))
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"lr": 1, "run": {"qa": str(qa)}}))
    rep = check_overlap({"reach_target": [used]}, [], [str(run)])
    assert rep["shards"] == 1 and len(rep["overlap"]) == 1
    # nothing to check against: a note, not an error
    rep = check_overlap(clean, [], [])
    assert not rep["checked"] and "not checked" in capsys.readouterr().err


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    from robotr1_train.cli import main

    assert main(["eval-sim", "--policy", "orcale", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'oracle'" in err[0]
    assert main(["eval-sim", "--policy", "oracle", "--tasks", "pick_cup", "--out", str(tmp_path)]) == 2
    assert "unknown task 'pick_cup'" in capsys.readouterr().err
    assert main(["eval-sim", "--policy", "vlm", "--out", str(tmp_path)]) == 2
    assert "vlm:RUN_DIR" in capsys.readouterr().err
    assert main(["eval-sim", "--policy", f"vlm:{tmp_path}/nope", "--tasks", "reach_target", "--episodes", "1",
                 "--no-video", "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
