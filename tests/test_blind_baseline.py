"""bench/blind_baseline.py: the text-only scorer finds a cue that is there and none that is not."""

import importlib.util
import json
import os

import numpy as np

BENCH = os.path.join(os.path.dirname(__file__), "..", "bench", "blind_baseline.py")
LETTERS = "ABCD"


def load():
    spec = importlib.util.spec_from_file_location("bench_blind", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def movement_record(rng, answer_is_centre: bool):
    words = ["move forward", "move left", "move up", "move slightly right", "move slightly down"]
    centre = list(rng.choice(words, size=2, replace=False))
    extra = [w for w in words if w not in centre]
    options = [", ".join(centre)] + [", ".join(centre + [e]) for e in extra[:3]]  # centre + one phrase
    order = rng.permutation(4)
    opts = {LETTERS[i]: options[j] for i, j in enumerate(order)}
    truth = int(np.where(order == 0)[0][0]) if answer_is_centre else int(rng.integers(4))
    return {"type": "movement", "prompt": "", "options": opts, "answer": LETTERS[truth]}


def waypoint_record(rng):
    cur = rng.uniform(-0.3, 0.3, 3)
    opts = {k: "[" + ", ".join(f"{v:.3f}" for v in rng.uniform(-0.4, 0.4, 3)) + "]" for k in LETTERS}
    prompt = "Current Robot State Position: [" + ", ".join(f"{v:.3f}" for v in cur) + "]\n"
    return {"type": "waypoint", "prompt": prompt, "options": opts, "answer": LETTERS[int(rng.integers(4))]}


def test_finds_the_centre_cue_and_nothing_in_random_answers():
    bench = load()
    rng = np.random.default_rng(0)
    cue = [movement_record(rng, True) for _ in range(300)]
    res = bench.blind_accuracy(cue[:200], cue[200:])
    assert res["movement"]["accuracy"] == 1.0 and res["movement"]["n"] == 100
    noise = [waypoint_record(rng) for _ in range(600)] + [movement_record(rng, False) for _ in range(600)]
    res = bench.blind_accuracy(noise[::2], noise[1::2])
    for t in ("waypoint", "movement"):
        assert res[t]["n"] == 300 and res[t]["accuracy"] < 0.36, res  # chance 0.25; 0.36 is > 4 s.e. above
        assert res[t]["prior"] < 0.36, res


def test_cli_json_line_and_bad_path(tmp_path, capsys):
    bench = load()
    rng = np.random.default_rng(1)
    for name in ("train", "test"):
        d = tmp_path / name
        d.mkdir()
        rows = [dict(movement_record(rng, True), id=f"{name}{i}") for i in range(40)]
        (d / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert bench.main([str(tmp_path / "train"), str(tmp_path / "test")]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["chance"] == 0.25 and last["movement"]["accuracy"] == 1.0 and last["movement"]["n"] == 40
    assert bench.main([str(tmp_path / "nope"), str(tmp_path / "test")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]


def test_answer_prior_finds_the_common_answer():
    """Distractors drawn unlike answers: the most frequent training answer of the task wins."""
    bench = load()
    rng = np.random.default_rng(2)
    common = "move down"
    rare = ["move up", "move left", "move right", "move forward", "move backward", "move slightly up"]

    def rec(task):
        opts = [common] + list(rng.choice(rare, size=3, replace=False))
        order = rng.permutation(4)
        return {"type": "movement", "task": task, "prompt": "",
                "options": {LETTERS[i]: opts[j] for i, j in enumerate(order)},
                "answer": LETTERS[int(np.where(order == 0)[0][0])]}

    rows = [rec("t") for _ in range(200)]
    res = bench.blind_accuracy(rows[:100], rows[100:])
    assert res["movement"]["prior"] == 1.0
