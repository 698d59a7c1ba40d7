"""robotr1_data.qa: question rules, distractors, letter balance, determinism, store, CLI."""

import itertools
import json

import numpy as np
import pytest

from robotr1_data.episode import Episode
from robotr1_data.errors import UsageError
from robotr1_data.keypoints import next_keypoint
from robotr1_data.qa import builder, commands, distractors, movement, store, templates
from robotr1_data.qa.templates import LETTERS, fmt_xyz
from robotr1_train import rewards

KEYPOINTS = (25, 50, 80)  # plus the last frame


def make_episode(seed, T=120, every=1, size=(24, 32), cameras=("front",), success=True,
                 task="pick_up_cup"):
    """A synthetic demo: straight lines between 5 waypoints, gripper closed on [50, 100)."""
    rng = np.random.default_rng(seed)
    way = np.array([
        [0.3, 0.0, 1.2],
        [0.3 + rng.uniform(-0.1, 0.1), rng.uniform(-0.3, 0.3), 0.85],
        [0.3, 0.1, 0.9],
        [0.2, 0.25, 1.1],
        [0.25 + rng.uniform(-0.1, 0.1), 0.3, 1.0],
    ])
    kps = np.array(list(KEYPOINTS) + [T - 1])
    pos = np.zeros((T, 3))
    for s, e, a, b in zip((0,) + KEYPOINTS, kps, way[:-1], way[1:]):
        for t in range(s, e + 1):
            pos[t] = a + (b - a) * (t - s) / (e - s)
    pose = np.concatenate([pos, np.tile([0.0, 0.0, 0.0, 1.0], (T, 1))], 1)
    gopen = np.ones(T)
    gopen[50:100] = 0.0
    frames = np.arange(0, T, every)
    images = {f"{c}_rgb": rng.integers(0, 256, (len(frames),) + tuple(size) + (3,), dtype=np.uint8)
              for c in cameras}
    z7 = np.zeros((T, 7))
    return Episode(
        task=task, variation=0, seed=seed, descriptions=["pick up the red cup", "grasp the cup"],
        success=success, joint_positions=z7, joint_velocities=z7, gripper_pose=pose,
        gripper_open=gopen, gripper_joint_positions=np.zeros((T, 2)), sim_state=np.zeros((T, 4)),
        task_low_dim_state=np.zeros((T, 3)), planner_keypoints=kps, keypoints=kps, images=images,
        image_frames=frames,
    )


def write_shard(path, episodes):
    from robotr1_data.shards import ShardWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    with ShardWriter(path, {"synthetic": True}) as w:
        for ep in episodes:
            w.add(ep)
    return path


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa_shards")
    eps = [make_episode(s) for s in range(6)]
    eps.append(make_episode(99, success=False))  # skipped by default
    write_shard(root / "shards" / "a.h5", eps[:4])
    write_shard(root / "shards" / "sub" / "b.h5",
                eps[4:] + [make_episode(7, every=3, task="push_button")])
    return root


@pytest.fixture(scope="module")
def built(shard_dir):
    out = shard_dir / "qa"
    cfg = builder.QAConfig(types=templates.QUESTION_TYPES, seed=3)
    summary = builder.build_qa([str(shard_dir / "shards")], str(out), cfg, log=lambda *a: None)
    return out, summary, store.read_records(out)


def _xyz(text):
    return np.array(json.loads(text), dtype=float)


# -- movement rule -------------------------------------------------------------------------

@pytest.mark.parametrize("delta,expected", [
    ((0.2, 0.0, 0.0), "move forward"),
    ((-0.2, 0.0, 0.0), "move backward"),
    ((0.0, 0.3, 0.0), "move right"),
    ((0.0, -0.3, 0.0), "move left"),
    ((0.0, 0.0, 0.1), "move up"),
    ((0.0, 0.0, -0.1), "move down"),
    ((-0.2, 0.05, 0.0), "move backward, move slightly right"),
    ((0.1, -0.1, 0.3), "move slightly forward, move slightly left, move up"),
    ((0.1, 0.06, -0.1), "move forward, move right, move down"),
    ((0.2, 0.1, 0.0), "move forward, move slightly right"),  # exactly half: slightly
    ((0.2, 0.1001, 0.0), "move forward, move right"),
    ((0.3, 0.009, 0.0), "move forward"),  # below min_move: no change on y
    ((0.005, 0.0, -0.004), "stay in place"),
])
def test_movement_labels(delta, expected):
    assert movement.movement_label(delta) == expected


def test_movement_code_and_validity():
    assert movement.movement_code((0.2, -0.05, 0)) == (2, -1, 0)
    assert movement.movement_code((0.0, 0.0, 0.0)) == (0, 0, 0)
    # every non-trivial delta codes to a valid movement (its largest axis is full-size)
    rng = np.random.default_rng(0)
    for d in rng.normal(0, 0.2, (500, 3)):
        c = movement.movement_code(d)
        assert c == (0, 0, 0) or movement.is_valid(c)


def test_adjacent_movements():
    assert set(movement.adjacent((2, 0, 0))) == {(2, 1, 0), (2, -1, 0), (2, 0, 1), (2, 0, -1)}
    assert set(movement.adjacent((2, 2, 2))) == {(1, 2, 2), (2, 1, 2), (2, 2, 1)}
    rng = np.random.default_rng(1)
    for code in movement._ALL_VALID:
        ring = movement.adjacent(code)
        assert len(ring) >= 3 and code not in ring
        picks = movement.sample_adjacent(code, rng)
        assert len(set(picks)) == 3 and code not in picks
        assert all(movement.is_valid(p) for p in picks)
        labels = {movement.label(p) for p in picks} | {movement.label(code)}
        assert len(labels) == 4
        nearest = min(movement.code_distance(code, c) for c in movement._ALL_VALID if c != code)
        assert min(movement.code_distance(code, p) for p in picks) == nearest


# -- distractors and letters ---------------------------------------------------------------

def test_state_distractor_separation_direct():
    rng = np.random.default_rng(0)
    box = distractors.Workspace()
    for _ in range(300):
        answer = rng.uniform(box.low, box.high)
        picks = distractors.sample_states(answer, rng, box, 3, 0.05)
        pts = [distractors.round_xyz(answer)] + picks
        for a, b in itertools.combinations(pts, 2):
            assert np.linalg.norm(a - b) >= 0.05
        for p in picks:
            assert np.all(p >= np.array(box.low) - 5e-4) and np.all(p <= np.array(box.high) + 5e-4)


def test_impossible_separation_is_a_usage_error():
    tiny = distractors.Workspace(low=(0, 0, 0), high=(0.01, 0.01, 0.01))
    with pytest.raises(UsageError, match="min-separation"):
        distractors.sample_states((0.005, 0.005, 0.005), np.random.default_rng(0), tiny, 3, 0.05)
    with pytest.raises(UsageError):
        distractors.Workspace.from_flat([0, -1, 0, 1, 0, 1])


def test_letter_assigner_is_balanced_in_blocks():
    la = distractors.LetterAssigner(np.random.default_rng(0))
    seq = [la.next("waypoint") for _ in range(400)]
    for i in range(0, 400, 4):
        assert sorted(seq[i:i + 4]) == list(LETTERS)
    assert seq[:8] != ["A", "B", "C", "D"] * 2  # shuffled, not cyclic


# -- prompt --------------------------------------------------------------------------------

def test_prompt_structure():
    opts = {k: f"[0.{i}00, 0.000, 1.000]" for i, k in enumerate(LETTERS)}
    p = templates.build_prompt("waypoint", "push the button", "front", (0.1, -0.2, 1.0), opts)
    order = ["Franka Robot Assistant", "Task: push the button", "<image>", "x: front", "[0.250, 0.000, 0.752]",
             "0.06 m (x) by 0.2 m (y) by 0.09 m (z)", "Current Robot State Position: [0.100, -0.200, 1.000]",
             "Question:", "[[A]]", "[[D]]", "<think></think>", "<answer> [[A]] </answer>"]
    pos = [p.index(s) for s in order]
    assert pos == sorted(pos)
    assert p.count("<image>") == 1
    cur = templates.build_prompt("current", "push the button", "front", None, opts)
    assert "Current Robot State" not in cur
    op = templates.build_prompt("waypoint_open", "push the button", "front", (0, 0, 1), None)
    assert "[[A]]" not in op and "Current Robot State" in op
    assert fmt_xyz((-0.0001, 0.2654, 1.0)) == "[0.000, 0.265, 1.000]"


# -- built store ---------------------------------------------------------------------------

def test_record_fields(built):
    out, summary, recs = built
    need = {"id", "type", "task", "variation", "shard", "episode", "frame", "camera", "prompt", "options",
            "answer", "target", "sft_direct", "sft_cot", "image_size", "template_version"}
    for r in recs:
        assert need <= set(r)
        assert r["template_version"] == templates.TEMPLATE_VERSION
        assert r["prompt"].count("<image>") == 1
        assert r["image_size"] == [224, 224] and r["camera"] == "front"
    assert len({r["id"] for r in recs}) == len(recs)
    assert summary["template_version"] == templates.TEMPLATE_VERSION
    assert summary["skipped"]["failed_episodes"] == 1
    assert set(summary["questions_by_task"]) == {"pick_up_cup", "push_button"}
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["num_questions"] == len(recs)


def test_answers_match_the_demo(built, shard_dir):
    from robotr1_data.shards import ShardReader

    out, _, recs = built
    cache = {}
    for r in recs:
        key = (r["shard"], r["episode"])
        if key not in cache:
            with ShardReader(out / r["shard"]) as rd:
                cache[key] = (rd.low_dim(r["episode"], "gripper_pose"), rd.low_dim(r["episode"], "keypoints"),
                              rd.low_dim(r["episode"], "image_frames"))
        pose, kps, frames = cache[key]
        f = r["frame"]
        assert f in frames
        nk = next_keypoint(kps, f)
        assert nk is not None and r["next_keypoint"] == nk
        if r["type"] in ("waypoint", "current"):
            truth = pose[nk, :3] if r["type"] == "waypoint" else pose[f, :3]
            assert r["answer"] in LETTERS
            assert r["options"][r["answer"]] == fmt_xyz(truth)
            np.testing.assert_allclose(r["target"], truth, atol=5e-4)
            assert f"[[{r['answer']}]]" in r["sft_direct"]
        elif r["type"] == "movement":
            assert r["options"][r["answer"]] == movement.movement_label(pose[nk, :3] - pose[f, :3])
            assert r["target"] is None
        else:
            assert r["options"] == {}
            assert r["answer"] == fmt_xyz(truth := pose[nk, :3])
            np.testing.assert_allclose(r["target"], truth, atol=5e-4)
        # the SFT targets are what the reward wants
        assert rewards.reward(r["sft_cot"], r)["total"] == 2.0
        assert rewards.reward(r["sft_direct"], r)["accuracy"] == 1.0
        assert all(s in r["sft_cot"] for s in ("Plan:", "Subtask:", "Move:", "Answer:"))


def test_current_frames_follow_stride_and_keypoints(built):
    _, _, recs = built
    by_ep = {}
    for r in recs:
        by_ep.setdefault((r["shard"], r["episode"], r["task"]), set()).add(r["frame"])
    for (shard, ep, task), frames in by_ep.items():
        if task == "pick_up_cup":  # images at every frame: exactly 0, 10, ..., < last keypoint
            assert sorted(frames) == list(range(0, 119, 10))
        else:  # images every 3rd frame: first image frame in each stride window
            assert sorted(frames) == [0, 12, 21, 30, 42, 51, 60, 72, 81, 90, 102, 111]
    assert builder.current_frames(50, np.arange(50), np.array([20, 49]), 10) == [0, 10, 20, 30, 40]
    assert builder.current_frames(50, np.array([], int), np.array([20, 49]), 10) == []


def test_option_separation_in_store(built):
    _, _, recs = built
    cfg = builder.QAConfig()
    for r in recs:
        if r["type"] in ("waypoint", "current"):
            pts = [_xyz(r["options"][k]) for k in LETTERS]
            for a, b in itertools.combinations(pts, 2):
                assert np.linalg.norm(a - b) >= cfg.min_separation - 1e-9
        if r["type"] in templates.MCQA_TYPES:
            assert len(set(r["options"].values())) == 4
            assert sorted(r["options"]) == list(LETTERS)


def test_letter_balance_over_hundreds(built):
    _, summary, recs = built
    mc = [r for r in recs if r["type"] in templates.MCQA_TYPES]
    assert len(mc) >= 200
    for t in templates.MCQA_TYPES + (None,):
        sel = [r["answer"] for r in mc if t is None or r["type"] == t]
        for k in LETTERS:
            assert abs(sel.count(k) / len(sel) - 0.25) <= 0.05, (t, k)
    assert set(summary["letter_balance"]) == set(templates.MCQA_TYPES)


def test_determinism(shard_dir, built):
    out, _, _ = built
    cfg = builder.QAConfig(types=templates.QUESTION_TYPES, seed=3)
    again = shard_dir / "qa_again"
    builder.build_qa([str(shard_dir / "shards")], str(again), cfg, log=lambda *a: None)
    assert (again / "questions.jsonl").read_bytes() == (out / "questions.jsonl").read_bytes()
    assert (again / "summary.json").read_bytes() == (out / "summary.json").read_bytes()
    other = shard_dir / "qa_other"
    builder.build_qa([str(shard_dir / "shards")], str(other),
                     builder.QAConfig(types=templates.QUESTION_TYPES, seed=4), log=lambda *a: None)
    assert (other / "questions.jsonl").read_bytes() != (out / "questions.jsonl").read_bytes()


def test_load_image(built, shard_dir):
    import cv2
    from robotr1_data.shards import ShardReader

    out, _, recs = built
    r = recs[0]
    img = store.load_image(r, out)
    assert img.shape == (224, 224, 3) and img.dtype == np.uint8
    with ShardReader(out / r["shard"]) as rd:
        raw = rd.frame(r["episode"], "front_rgb", r["frame"])
    np.testing.assert_array_equal(img, cv2.resize(raw, (224, 224), interpolation=cv2.INTER_AREA))
    small = dict(r, image_size=[16, 20])
    assert store.load_image(small, out).shape == (16, 20, 3)
    absolute = dict(r, shard=str((out / r["shard"]).resolve()))
    assert store.load_image(absolute).shape == (224, 224, 3)
    with pytest.raises(UsageError, match="not found"):
        store.load_image(r, shard_dir / "nowhere")
    store.close_cache()


def test_movement_skipped_when_gripper_does_not_move():
    T = 40
    pose = np.tile([0.3, 0.0, 1.0, 0, 0, 0, 1.0], (T, 1))
    ep = builder.EpisodeView("t", 0, "do it", pose, np.ones(T), np.array([20, 39]), np.arange(T), "s.h5", "episodes/000000")
    stats = builder._Stats()
    cfg = builder.QAConfig(types=("movement", "current"))
    recs = builder.episode_questions(ep, cfg, np.random.default_rng(0), distractors.LetterAssigner(np.random.default_rng(1)), stats)
    assert {r["type"] for r in recs} == {"current"}
    assert stats.skipped["movement_below_min_move"] == 4


# -- CLI -----------------------------------------------------------------------------------

def test_cli_build_and_errors(shard_dir, capsys):
    out = shard_dir / "qa_cli"
    rc = commands.main(["build-qa", str(shard_dir / "shards" / "a.h5"), "--out", str(out), "--types",
                        "waypoint,movement", "--stride", "20", "--image-size", "64", "48", "--seed", "1"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "letter balance" in printed and "pick_up_cup" in printed
    recs = store.read_records(out)
    assert {r["type"] for r in recs} == {"waypoint", "movement"}
    assert all(r["image_size"] == [64, 48] and r["frame"] % 20 == 0 for r in recs)
    assert store.load_image(recs[0], out).shape == (64, 48, 3)

    def err(argv):
        assert commands.main(argv) == 2
        e = capsys.readouterr().err.strip()
        assert "\n" not in e and "Traceback" not in e
        return e

    assert "did you mean 'waypoint'" in err(["build-qa", str(shard_dir / "shards"), "--out", str(out), "--types", "waypont"])
    assert "does not exist" in err(["build-qa", str(shard_dir / "missing.h5"), "--out", str(out)])
    assert "no questions" in err(["build-qa", str(shard_dir / "shards"), "--out", str(out), "--camera", "wrist"])
    assert "stride" in err(["build-qa", str(shard_dir / "shards"), "--out", str(out), "--stride", "0"])
    assert "no questions.jsonl" in err(["export-qa", str(shard_dir / "nothing"), "--format", "trl", "--out", str(out)])


def test_register_sets_func():
    import argparse

    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="cmd"))
    a = parser.parse_args(["build-qa", "x.h5", "--out", "q"])
    assert callable(a.func) and a.stride is None and a.shards == ["x.h5"]
    b = parser.parse_args(["export-qa", "q", "--format", "easyr1", "--out", "o"])
    assert callable(b.func)


def test_config_yaml(tmp_path):
    p = tmp_path / "qa.yaml"
    p.write_text("stride: 5\ntypes: [current]\nmin_separation: 0.1\n")
    cfg = builder.QAConfig.from_yaml(str(p), seed=9)
    assert cfg.stride == 5 and cfg.types == ("current",) and cfg.seed == 9 and cfg.min_separation == 0.1
    p.write_text("strde: 5\n")
    with pytest.raises(UsageError, match="did you mean 'stride'"):
        builder.QAConfig.from_yaml(str(p))
