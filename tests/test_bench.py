"""Robot-R1 Bench: build-bench on fresh shards (every reference recomputed here from the stored
state), the rules judge, and eval-bench with the tiny VLM against a fake OpenAI-compatible server
on 127.0.0.1 (429, malformed replies, cache, unreachable endpoint)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from robotr1_data.bench import builder as B
from robotr1_data.bench import facts as F
from robotr1_data.bench import templates as BT
from robotr1_data.qa import movement as M
from robotr1_data.qa.store import read_records
from robotr1_data.shards import ShardReader
from robotr1_data.tasks.registry import get_task

TASKS = ["pick_up_cup", "push_button", "reach_target", "put_rubbish_in_bin", "pick_and_lift"]
SIZE = (32, 32)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    from robotr1_data.generate import GenerateConfig, generate

    root = tmp_path_factory.mktemp("bench_shards")
    generate(GenerateConfig(tasks=TASKS, episodes=1, out=str(root / "data"), seed=0, cameras=["front"],
                            image_size=SIZE, depth=False, mask=False, image_every=4), show_progress=False)
    return root / "data"


@pytest.fixture(scope="module")
def bench(shards):
    out = shards.parent / "bench"
    cfg = B.BenchConfig(shards=(str(shards),), out=str(out), per_type=12, seed=3, image_size=(24, 28), quiet=True)
    summary = B.build_bench(cfg)
    return out, summary, read_records(out)


def _episode(out: Path, rec: dict) -> dict:
    with ShardReader(str(out / rec["shard"])) as r:
        return {k: np.asarray(r.low_dim(rec["episode"], k)) for k in B.LOW_DIM}


def test_bench_has_every_type_across_tasks_and_phases(bench):
    out, summary, recs = bench
    assert summary["questions_by_type"] == {t: 12 for t in BT.BENCH_TYPES}
    for t in BT.BENCH_TYPES:
        tasks = {r["task"] for r in recs if r["type"] == t}
        assert tasks == set(TASKS), (t, tasks)  # round robin over tasks
    plan_steps = {(r["task"], r["facts"]["current_step"]) for r in recs if r["type"] == "planning"}
    assert len(plan_steps) > len(TASKS)  # more than one phase per task
    for r in recs:
        assert r["prompt"].count("<image>") == 1 and f"Task: {r['description']}" in r["prompt"]
        assert "Current Robot State Position:" in r["prompt"]
        img = B.load_image(r, str(out))
        assert img.shape == (24, 28, 3) and img.dtype == np.uint8
    assert summary["skipped"].get("movement_no_motion", 0) > 0  # ambiguity is counted


def test_every_reference_recomputed_from_stored_state(bench):
    out, _, recs = bench
    for r in recs:
        ep = _episode(out, r)
        f = r["frame"]
        pose, gopen, pk = ep["gripper_pose"], ep["gripper_open"], ep["planner_keypoints"]
        cur = pose[f, :3]
        assert np.allclose(r["facts"]["gripper_xyz"], cur, atol=1e-4)
        step = int(np.argmax(pk > f))
        assert pk[step] > f and (step == 0 or pk[step - 1] <= f)
        if r["type"] in ("planning", "high_level"):
            cls = get_task(r["task"])
            names = cls.step_names(r["variation"], [r["description"]])
            plan = [s["name"] for s in r["facts"]["plan"]]
            assert len(plan) == len(pk)
            if names is not None:
                assert plan == names
            else:  # generic names: motion of the step and the gripper's change
                for i, k in enumerate(pk):
                    prev = pk[i - 1] if i else 0
                    label = M.label(M.movement_code(pose[k, :3] - pose[prev, :3]))
                    if gopen[prev] > 0.5 and gopen[k] < 0.5:
                        assert plan[i].endswith("close the gripper")
                    if label != "move up" and label != "stay in place":
                        assert plan[i].startswith(label)
            if r["type"] == "high_level":
                assert r["reference"] == plan[step]
            else:
                assert r["reference"] == "\n".join(f"{i + 1}. {n}" for i, n in enumerate(plan[step:]))
        elif r["type"] == "movement":
            nk = int(ep["keypoints"][np.searchsorted(ep["keypoints"], f, side="right")])
            delta = pose[nk, :3] - cur
            big = np.abs(delta) >= 0.01
            assert big.any()
            words = []
            for axis, (pos, neg) in enumerate((("forward", "backward"), ("right", "left"), ("up", "down"))):
                if big[axis]:
                    slight = abs(delta[axis]) <= 0.5 * np.abs(delta).max()
                    words.append(f"move {'slightly ' if slight else ''}{pos if delta[axis] > 0 else neg}")
            assert r["reference"] == ", ".join(words)
        else:
            fx = r["facts"]
            low = ep["task_low_dim_state"][f]
            names = F.object_names(r["task"], r["variation"], [r["description"]], len(low) // 3)
            where = {n: low[3 * k:3 * k + 3] for k, n in enumerate(names) if n}
            where["the gripper"] = cur
            if fx["kind"] == "closer":
                a, b = fx["asked"]
                da, db = (float(np.linalg.norm(where[n] - cur)) for n in (a, b))
                assert abs(da - db) >= fx["margin"]
                near = a if da < db else b
                assert r["reference"].lower().startswith(near.lower() + " is closer")
            else:
                d = where[fx["a"]] - where[fx["b"]]
                pairs = (("in front of", "behind"), ("to the right of", "to the left of"), ("above", "below"))
                words = [w for axis, (pos, neg) in enumerate(pairs)
                         for w in ([pos] if d[axis] >= fx["margin"] else [neg] if d[axis] <= -fx["margin"] else [])]
                assert words
                for w in words:
                    assert w in r["reference"]
                for axis, pair in enumerate(pairs):  # an axis inside the margin is not stated
                    if abs(d[axis]) < fx["margin"]:
                        assert not any(w in r["reference"] for w in pair)
                assert f"about {np.linalg.norm(d):.2f} m" in r["reference"]


def test_task_names_are_used_and_people_names_for_objects(bench):
    _, _, recs = bench
    cup = next(r for r in recs if r["task"] == "pick_up_cup" and r["type"] == "planning")
    assert cup["facts"]["plan"][0]["name"] == "move above the red cup"
    lift = next(r for r in recs if r["task"] == "pick_and_lift" and r["type"] == "planning")
    assert {s["named_by"] for s in lift["facts"]["plan"]} == {"motion"}
    assert any("close the gripper" in s["name"] for s in lift["facts"]["plan"])
    spatial_names = {n for r in recs if r["type"] == "spatial" for n in r["facts"]["objects"]}
    assert spatial_names <= {"the red cup", "the other cup", "the red button", "the red ball", "the rubbish",
                             "the bin", "the red block", "the target"}
    assert not any("tomato" in n for n in spatial_names)  # two identical tomatoes: no name


def test_same_seed_same_bench_other_seed_other_sample(shards, bench, tmp_path):
    out, _, _ = bench
    again = B.build_bench(B.BenchConfig(shards=(str(shards),), out=str(tmp_path / "a"), per_type=12, seed=3,
                                        image_size=(24, 28), quiet=True))
    assert again["num_questions"] == 48
    strip = lambda p: [{k: v for k, v in r.items() if k != "shard"} for r in read_records(p)]  # noqa: E731
    assert strip(tmp_path / "a") == strip(out)
    B.build_bench(B.BenchConfig(shards=(str(shards),), out=str(tmp_path / "b"), per_type=12, seed=4,
                                image_size=(24, 28), quiet=True))
    assert [r["id"] for r in read_records(tmp_path / "b")] != [r["id"] for r in read_records(out)]


@pytest.mark.parametrize("argv,needle", [
    (["build-bench", "/nonexistent/shards", "--out", "{tmp}/o"], "does not exist"),
    (["build-bench", "{shards}", "--out", "{tmp}/o", "--per-type", "0"], "--per-type"),
    (["build-bench", "{shards}", "--out", "{tmp}/o", "--camera", "fron"], "did you mean 'front'"),
])
def test_build_bench_bad_input_is_one_line_exit_2(shards, tmp_path, capsys, argv, needle):
    from robotr1_data.cli import main

    rc = main([a.format(tmp=tmp_path, shards=shards) for a in argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and needle in err and len(err.splitlines()) == 1


# -- rules judge ---------------------------------------------------------------------------

def test_rules_oracle_three_noop_zero_and_partial_credit(bench):
    from robotr1_train.bench import rules

    _, _, recs = bench
    for r in recs:
        assert rules.score(r, r["reference"])[0] == 3, r
        assert rules.score(r, "I don't know")[0] == 0, r
    mv = {"type": "movement", "facts": {"code": [2, -1, 0]}, "reference": "move forward, move slightly left"}
    assert rules.score(mv, "move forward, move left")[0] == 2
    assert rules.score(mv, "move forward, move up")[0] == 1
    assert rules.score(mv, "move backward")[0] == 0
    rel = {"type": "spatial", "reference": "x", "facts": {"kind": "relation", "axes": [1, -1, 0], "distance": 0.3,
                                                          "objects": {"the red cup": [0, 0, 0]}}}
    assert rules.score(rel, "It is in front of and to the left of the red cup, 30 cm away")[0] == 3
    assert rules.score(rel, "in front and left")[0] == 2
    assert rules.score(rel, "in front of it, 0.3 m")[0] == 2
    assert rules.score(rel, "behind and to the left, 0.3 m")[0] == 1  # wrong relation, right distance


# -- eval-bench ----------------------------------------------------------------------------

class FakeOpenAI:
    """A scripted OpenAI-compatible server: the first chat request gets a 429, the first two
    first-try requests get a reply without a score, the first retry after that gets 'Score: 2'
    and the second another malformed reply; everything else 'Score: 3'. Any key but 'bad'."""

    def __init__(self):
        self.lock = threading.Lock()
        self.chat = self.first_tries = self.retries = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.headers.get("Authorization") == "Bearer bad":
                    return self._send(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
                self._send(200, {"object": "list", "data": [{"id": "judge-model", "object": "model"}]})

            def do_POST(self):
                req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.chat += 1
                    if fake.chat == 1:
                        return self._send(429, {"error": {"message": "slow down"}}, [("retry-after-ms", "10")])
                    if req["messages"][-1]["content"].startswith("Your reply did not end"):
                        fake.retries += 1
                        text = "Score: 2" if fake.retries == 1 else "still no number"
                    else:
                        fake.first_tries += 1
                        text = "Looks fine to me." if fake.first_tries <= 2 else "Matches.\nScore: 3"
                self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": req["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": text}}]})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_server():
    s = FakeOpenAI()
    yield s
    s.close()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from robotr1_train.testing import build_tiny_vlm

    return build_tiny_vlm(tmp_path_factory.mktemp("tiny") / "vlm")


def _small_bench(bench, tmp_path, n=2):
    """A copy of the bench with n questions per type (keeps the tiny VLM's part to seconds)."""
    out, _, recs = bench
    keep = [r for t in BT.BENCH_TYPES for r in [x for x in recs if x["type"] == t][:n]]
    small = tmp_path / "small_bench"
    small.mkdir()
    (small / "images").symlink_to(out / "images")
    (small / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in keep))
    summary = json.loads((out / "summary.json").read_text())
    summary["num_questions"] = len(keep)  # a consistent store: readers refuse a count that disagrees
    if "questions_sha256" in summary:
        import hashlib
        summary["questions_sha256"] = hashlib.sha256((small / "questions.jsonl").read_bytes()).hexdigest()
    (small / "summary.json").write_text(json.dumps(summary))
    return small, keep


def test_eval_bench_tiny_vlm_fake_openai_judge_and_cache(bench, tiny_model, fake_server, tmp_path, monkeypatch, capsys):
    from robotr1_train.cli import main

    small, keep = _small_bench(bench, tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    out = tmp_path / "eval"
    argv = ["eval-bench", "--model", str(tiny_model), "--bench", str(small), "--judge", "openai:judge-model",
            "--judge-base-url", fake_server.url, "--out", str(out), "--max-new-tokens", "8", "--concurrency", "3",
            "--judge-retries", "2", "--quiet"]
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    rows = res["questions"]
    assert res["complete"] and len(rows) == len(keep) == 8
    assert fake_server.chat == 1 + 8 + 2  # one 429, eight first tries, two retries
    assert sum(r["judge_tries"] == 2 for r in rows) == 2
    assert sorted((r["score"] for r in rows if r["judge_tries"] == 2), key=str) == [2, None]
    assert sum(r["score"] is None for r in rows) == 1 and res["overall"]["unparsed"] == 1
    assert all("--- retry ---" in r["judge_reply"] for r in rows if r["judge_tries"] == 2)  # raw replies kept
    assert all(isinstance(r["completion"], str) for r in rows)
    assert (out / "report.md").is_file() and (out / "scores.png").is_file()
    report = (out / "report.md").read_text()
    assert "0.760" in report and "1.510" in report and "Robot-R1-7B (paper)" in report

    before = fake_server.chat
    assert main(argv) == 0  # rerun: answers and judgements come from disk
    assert fake_server.chat == before
    res2 = json.loads((out / "results.json").read_text())
    assert all(r["cached"] for r in res2["questions"])
    assert [r["score"] for r in res2["questions"]] == [r["score"] for r in rows]
    capsys.readouterr()


def test_rules_judge_oracle_and_noop_through_the_cli(bench, tmp_path, capsys):
    from robotr1_train.cli import main

    out, _, recs = bench
    for model, want in (("oracle", 3.0), ("noop", 0.0)):
        assert main(["eval-bench", "--model", model, "--bench", str(out), "--judge", "rules",
                     "--out", str(tmp_path / model), "--quiet"]) == 0
        res = json.loads((tmp_path / model / "results.json").read_text())
        assert res["overall"]["mean"] == want and res["overall"]["n"] == len(recs)
        assert all(res["by_type"][t]["mean"] == want for t in BT.BENCH_TYPES)
    assert "oracle" in capsys.readouterr().out


def test_unreachable_judge_and_bad_key_exit_2_with_one_line(bench, tmp_path, capsys, fake_server, monkeypatch):
    import socket

    from robotr1_train.cli import main

    out, _, _ = bench
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    rc = main(["eval-bench", "--model", "oracle", "--bench", str(out), "--judge", "openai:m", "--judge-base-url", url,
               "--out", str(tmp_path / "o"), "--judge-retries", "0", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and url in err and "--judge-base-url" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o" / "results.json").exists()
    monkeypatch.setenv("OPENAI_API_KEY", "bad")
    rc = main(["eval-bench", "--model", "oracle", "--bench", str(out), "--judge", "openai:m", "--judge-base-url",
               fake_server.url, "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "OPENAI_API_KEY" in err and len(err.splitlines()) == 1
    assert fake_server.chat == 0


def test_eval_bench_bad_input_and_vllm_without_vllm(bench, tmp_path, capsys):
    from robotr1_train.cli import main

    out, _, _ = bench
    for argv, needle in ((["--judge", "gpt4"], "unknown judge"), (["--engine", "vllm", "--model", "/nope"], "vllm"),
                         (["--bench", str(tmp_path)], "not a bench store")):
        base = {"--model": "oracle", "--bench": str(out), "--judge": "rules", "--out": str(tmp_path / "o")}
        base.update(dict(zip(argv[::2], argv[1::2])))
        rc = main(["eval-bench"] + [x for kv in base.items() for x in kv])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and needle in err and len(err.splitlines()) == 1, err


def test_interrupted_run_resumes_where_it_stopped(bench, tmp_path):
    from robotr1_train.bench.run import EvalBenchConfig, evaluate_bench

    out, _, recs = bench
    calls = []

    def flaky(records, images):
        calls.append([r["id"] for r in records])
        if len(calls) == 2:
            raise KeyboardInterrupt
        assert all(im[0].shape == (24, 28, 3) for im in images)
        return [f"<answer> {r['reference']} </answer>" for r in records]

    cfg = dict(model="oracle", bench=str(out), judge="rules", out=str(tmp_path / "e"), batch_size=5, quiet=True)
    with pytest.raises(KeyboardInterrupt):
        evaluate_bench(EvalBenchConfig(**cfg), generate=flaky)
    assert not (tmp_path / "e" / "results.json").exists()  # nothing half-done looks done
    assert len((tmp_path / "e" / "answers.jsonl").read_text().splitlines()) == 5
    calls.clear()
    res = evaluate_bench(EvalBenchConfig(**cfg), generate=lambda rs, ims: calls.append(len(rs)) or
                         [f"<answer> {r['reference']} </answer>" for r in rs])
    assert sum(calls) == len(recs) - 5 and res["complete"] and res["overall"]["mean"] == 3.0
    with pytest.raises(Exception, match="generation settings"):  # other settings: never mixed
        evaluate_bench(EvalBenchConfig(**cfg, max_new_tokens=7), generate=flaky)


def test_docs_show_the_rubrics_the_judge_gets():
    from robotr1_train.bench import rubrics

    doc = (Path(__file__).resolve().parents[1] / "docs" / "bench.md").read_text()
    for text in list(rubrics.RUBRICS.values()) + [rubrics.SYSTEM, rubrics.REPLY, rubrics.RUBRIC_VERSION]:
        assert text in doc


def test_local_hf_judge_keeps_raw_replies_and_never_asks_twice(bench, tiny_model, tmp_path):
    from robotr1_train.bench.run import EvalBenchConfig, evaluate_bench

    out, _, _ = bench
    cfg = dict(model="oracle", bench=str(out), judge=f"local:{tiny_model}", out=str(tmp_path / "l"), max_samples=1,
               device="cpu", quiet=True)
    first = evaluate_bench(EvalBenchConfig(**cfg))
    rows = first["questions"]
    assert len(rows) == 4 and first["judge_requests"] == sum(r["judge_tries"] for r in rows) >= 4
    for r in rows:  # a random tiny model: whatever it says is kept, a score only when parseable
        assert isinstance(r["judge_reply"], str)
        if r["score"] is None:  # unparseable: asked again once, both replies kept
            assert r["judge_tries"] == 2 and "--- retry ---" in r["judge_reply"]
    again = evaluate_bench(EvalBenchConfig(**cfg))
    assert again["judge_requests"] == 0 and [r["score"] for r in again["questions"]] == [r["score"] for r in rows]


def test_object_names_from_bodies_when_a_task_gives_none():
    assert F.humanize("tap_left", "turn_tap") == "the left tap"
    assert F.humanize("stack_blocks_target_plane", "stack_blocks") == "the target plane"
    # turn_tap has no object_names: its registered bodies are named; counts that do not match
    # task_low_dim_state's width give no names at all
    assert F.object_names("turn_tap", 0, ["turn left tap"], 3) == ["the tap", "the left tap", "the right tap"]
    assert F.object_names("turn_tap", 0, ["turn left tap"], 4) == [None] * 4
    # identical names tell nothing apart: dropped
    assert F.object_names("push_buttons", 0, ["push the red button"], 3) == [None] * 3
    assert F.object_names("no_such_task", 0, ["x"], 2) == [None, None]


@pytest.mark.parametrize("reply,want", [
    ("Close enough.\nScore: 2", 2), ("**Score:** 3", 3), ("score = 1/3", 1), ("2", 2), (" 0 ", 0),
    ("Score: 2\nActually, Score: 1", 1), ("Looks right", None), ("Score: 5", None), ("", None), (None, None),
])
def test_judge_reply_parsing(reply, want):
    from robotr1_train.bench.rubrics import parse_score

    assert parse_score(reply) == want


def test_judge_timeout_is_one_line_naming_the_fix(bench, tmp_path, capsys, monkeypatch):
    import time

    from robotr1_train.cli import main

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            body = b'{"object": "list", "data": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            time.sleep(1.0)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out, _, _ = bench
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        rc = main(["eval-bench", "--model", "oracle", "--bench", str(out), "--judge", "openai:m", "--judge-base-url",
                   f"http://127.0.0.1:{server.server_address[1]}/v1", "--out", str(tmp_path / "t"), "--max-samples",
                   "1", "--judge-timeout", "0.2", "--judge-retries", "0", "--concurrency", "1", "--quiet"])
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "--judge-timeout" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "t" / "results.json").exists()


def test_a_copied_dataset_is_refused_not_counted_twice(shards, tmp_path):
    import shutil

    from robotr1_data.errors import UsageError

    src = next((shards / "pick_up_cup").glob("*.h5"))
    (tmp_path / "copy" / "pick_up_cup").mkdir(parents=True)
    shutil.copy(src, tmp_path / "copy" / "pick_up_cup" / src.name)
    with pytest.raises(UsageError, match="same demo"):
        B.build_bench(B.BenchConfig(shards=(str(src), str(tmp_path / "copy")), out=str(tmp_path / "b"), quiet=True))
