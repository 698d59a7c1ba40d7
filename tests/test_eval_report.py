"""Wilson intervals, the report files and their numbers, the bar chart, keypoint projection."""

import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from robotr1_train.evaluation.closed_loop import EvalSimConfig, evaluate  # noqa: E402
from robotr1_train.evaluation.report import bar_chart, fmt  # noqa: E402
from robotr1_train.evaluation.stats import wilson_interval  # noqa: E402
from robotr1_train.evaluation.video import project, video_backend  # noqa: E402


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson_interval(10, 10)
    assert lo == pytest.approx(0.7225, abs=1e-4) and hi == 1.0
    lo, hi = wilson_interval(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert wilson_interval(0, 0) == (0.0, 1.0)
    for k in range(0, 21):
        lo, hi = wilson_interval(k, 20)
        assert 0.0 <= lo <= k / 20 <= hi <= 1.0


def table_rows(text: str, section: str):
    """Rows (lists of cells) of the first table after the '## section' heading."""
    lines = text.splitlines()
    start = lines.index(f"## {section}")
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[1:]  # without the header


def failures_text(f: dict, reasons) -> str:
    return ", ".join(f"{r} {f[r]}" for r in reasons if f.get(r)) or "none"


@pytest.fixture(scope="module")
def sim_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval_report")
    cfg = EvalSimConfig(policies=["oracle", "noop"], tasks=["push_button", "reach_target"], episodes=3,
                        max_keypoints=3, out=str(out), image_size=(64, 64), video=True, video_every=2,
                        show_progress=False)
    return out, evaluate(cfg)


def test_sim_report_files_exist_and_numbers_match_json(sim_results):
    out, res = sim_results
    for name in ("results.json", "report.md", "success.png"):
        assert (out / name).is_file(), name
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["summary"] == res["summary"]
    text = (out / "report.md").read_text()
    reasons = on_disk["failure_reasons"]
    overall = table_rows(text, "Overall")
    assert [r[0] for r in overall] == ["oracle", "noop"]
    for row in overall:
        a = on_disk["summary"][row[0]]["overall"]
        assert row[2:] == [str(a["episodes"]), fmt(a["success_rate"]), f"[{fmt(a['ci95'][0])}, {fmt(a['ci95'][1])}]",
                           fmt(a["mean_keypoints"]), fmt(a["mean_keypoint_l1"]), failures_text(a["failures"], reasons)]
    for label in ("oracle", "noop"):
        rows = table_rows(text, label)
        assert len(rows) == 2 * 4  # per task: "all" plus 3 variations (episodes 0, 1, 2)
        for task, variation, n, rate, ci, kp, l1, fails in rows:
            entry = on_disk["summary"][label]["tasks"][task]
            a = entry if variation == "all" else entry["variations"][variation]
            assert (int(n), rate, ci, kp, l1, fails) == (
                a["episodes"], fmt(a["success_rate"]), f"[{fmt(a['ci95'][0])}, {fmt(a['ci95'][1])}]",
                fmt(a["mean_keypoints"]), fmt(a["mean_keypoint_l1"]), failures_text(a["failures"], reasons))
    assert on_disk["summary"]["oracle"]["overall"]["success_rate"] == 1.0
    assert on_disk["summary"]["noop"]["overall"]["successes"] == 0


def test_videos_per_episode_with_keypoints(sim_results):
    import cv2

    out, res = sim_results
    ext = ".gif" if video_backend() == "gif" else ".mp4"
    assert res["video_format"] == video_backend()
    assert len(res["episodes"]) == 12
    for r in res["episodes"]:
        assert r["video"] and r["video"].endswith(ext) and (out / r["video"]).is_file(), r["video"]
        assert f"({r['video']})" in (out / "report.md").read_text()
    if ext == ".mp4":
        cap = cv2.VideoCapture(str(out / res["episodes"][0]["video"]))
        ok, frame = cap.read()
        cap.release()
        assert ok and frame.shape[0] >= 256  # upscaled before drawing


def test_bar_chart_png(tmp_path):
    import cv2

    path = bar_chart(str(tmp_path / "c.png"), ["task_a", "a_much_longer_task_name"],
                     {"p1": [0.5, None], "p2": [1.0, 0.0]}, {"p1": [[0.2, 0.8], None], "p2": [[0.7, 1.0], [0, 0.3]]},
                     title="t", ylabel="success")
    img = cv2.imread(path)
    assert img is not None and img.shape[0] > 300 and img.shape[1] > 300
    assert (img != 255).any()


def test_projection_hits_the_object():
    """RLBench camera conventions: a world point projects onto the pixel showing it."""
    from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
    from robotr1_data.tasks.registry import get_task

    sim = MujocoSim(get_task("pick_up_cup"), cameras=["front"], image_size=(128, 128), rgb=False, depth=False,
                    mask=True)
    try:
        sim.reset(0, np.random.default_rng(3))
        mask = sim.render()["front_mask"]
        params = sim.camera_parameters()["front"]
        for body in ("cup1", "cup2"):
            centre = sim.body_position(body) + np.array([0.0, 0.0, 0.045])
            uv, front = project(centre[None], params["intrinsics"], params["extrinsics"])
            u, v = uv[0]
            assert front[0]
            assert mask[int(round(v)), int(round(u))] == sim.model.body(body).id, body
    finally:
        sim.close()
