"""eval-sim draws the VLM's view as the training data was drawn: `--tessellation SLICES STACKS`
reaches the simulator's camera rig (mujoco only), is stored in results.json, and a mismatch with
the training shards' stored tessellation or the run's QA camera/size is one warning line naming
both values and the fixing flag (never a refusal)."""

import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import yaml  # noqa: E402

from robotr1_data.backends import get_backend  # noqa: E402
from robotr1_train.cli import main  # noqa: E402
from robotr1_train.evaluation import closed_loop  # noqa: E402
from robotr1_train.evaluation.view_check import check_views  # noqa: E402
from robotr1_train.policies import Policy, PolicyOutputError  # noqa: E402

TASK = "reach_target"
TESS_WARNING = ("the training shards were drawn with --tessellation 8 4, eval-sim draws the VLM's "
                "view with the model's 28 16 (no --tessellation); pass --tessellation 8 4 to draw "
                "it as in training")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A coarse-tessellation shard and a run directory whose QA store (front, 32x32) names it:
    config.yaml -> run.qa -> summary.json, as a robotr1-train run and build-qa leave them."""
    from robotr1_data.generate import GenerateConfig, generate

    root = tmp_path_factory.mktemp("views")
    data = root / "data"
    generate(GenerateConfig(tasks=[TASK], episodes=1, out=str(data), seed=11, cameras=["front"],
                            image_size=(32, 32), tessellation=(8, 4)), show_progress=False)
    shard = next(data.rglob("*.h5"))
    qa = root / "qa"
    qa.mkdir()
    (qa / "summary.json").write_text(json.dumps({
        "config": {"camera": "front", "image_size": [32, 32]}, "image_size": [32, 32],
        "shards": [os.path.relpath(shard, qa)]}))
    run = root / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"run": {"qa": str(qa)}}))
    return {"data": data, "qa": qa, "run": run}


class _Looking(Policy):
    """Stands in for the VLM (no model here): needs the front image, records what it was shown,
    and gives no usable answer, so each episode is one keypoint."""

    cameras = ("front",)

    def __init__(self):
        self.shapes = []

    def predict(self, obs):
        self.shapes.append(obs.images["front"].shape)
        raise PolicyOutputError("unparseable", "stand-in", text="")


def _eval(run, out, *extra):
    return main(["eval-sim", "--policy", f"vlm:{run}", "--tasks", TASK, "--episodes", "1",
                 "--max-keypoints", "1", "--image-size", "32", "32", "--no-video", "--quiet",
                 "--out", str(out), *extra])


@pytest.fixture
def spy(trained, monkeypatch):
    """The stand-in policy under the run's spec, and the tessellation of every rig eval-sim
    built (read from the env as it is released)."""
    policy = _Looking()
    monkeypatch.setitem(closed_loop._POLICIES, f"vlm:{trained['run']}", policy)
    backend = get_backend("mujoco")
    release, rigs = backend.release_keypoint_env, []

    def record(env):
        rigs.append(env.sim.rig.tessellation)
        release(env)

    monkeypatch.setattr(backend, "release_keypoint_env", record)
    return policy, rigs


def _warnings(err):
    return [line for line in err.splitlines() if line.startswith("warning:")]


def test_flag_reaches_the_rig_and_results_and_silences_the_warning(trained, spy, tmp_path, capsys):
    policy, rigs = spy
    assert _eval(trained["run"], tmp_path / "coarse", "--tessellation", "8", "4") == 0
    assert rigs == [(8, 4)] and policy.shapes == [(32, 32, 3)]
    assert not [w for w in _warnings(capsys.readouterr().err) if "tessellation" in w]
    res = json.loads((tmp_path / "coarse" / "results.json").read_text())
    assert res["config"]["tessellation"] == [8, 4]
    assert res["view_check"]["checked"] and res["view_check"]["mismatches"] == []
    assert res["view_check"]["training_shards"] == [{"tessellation": [8, 4], "shards": 1}]
    assert res["seed_check"]["shards"] == 1  # the same shards, read once, checked for both


def test_default_tessellation_against_coarse_training_is_one_warning(trained, spy, tmp_path, capsys):
    policy, rigs = spy
    assert _eval(trained["run"], tmp_path / "exact") == 0  # a warning, not a refusal
    assert rigs == [None]
    warnings = _warnings(capsys.readouterr().err)
    assert warnings == [f"warning: {TESS_WARNING}"], warnings
    res = json.loads((tmp_path / "exact" / "results.json").read_text())
    assert res["config"]["tessellation"] is None
    assert res["view_check"]["mismatches"] == [{"setting": "tessellation", "training": [8, 4],
                                                "eval": None, "fix": "pass --tessellation 8 4"}]
    report = (tmp_path / "exact" / "report.md").read_text()
    assert "the VLM's view differs from its training images** (tessellation" in report


def test_a_policy_that_does_not_look_is_not_warned(trained, tmp_path, capsys):
    assert main(["eval-sim", "--policy", "oracle", "--tasks", TASK, "--episodes", "1",
                 "--max-keypoints", "1", "--no-video", "--quiet", "--train-data",
                 str(trained["data"]), "--out", str(tmp_path / "o")]) == 0
    assert not [w for w in _warnings(capsys.readouterr().err) if "tessellation" in w]
    assert json.loads((tmp_path / "o" / "results.json").read_text())["view_check"] is None


def test_qa_camera_and_size_and_mixed_tessellations(trained):
    warned = []
    rep = check_views("wrist", (64, 48), (8, 4), [{"tessellation": [8, 4], "shards": 2}],
                      [str(trained["run"])], warn=warned.append)
    qa = trained["qa"]
    assert warned == [
        f"vlm:{trained['run']} was trained on 'front' images (its QA store {qa}), eval-sim shows it "
        "'wrist'; pass --camera front to show it the training view",
        f"vlm:{trained['run']} was trained on 32x32 images (its QA store {qa}), eval-sim shows it "
        "64x48; pass --image-size 32 32 to show it the training size"]
    assert [m["setting"] for m in rep["mismatches"]] == ["camera", "image_size"]
    # Two runs on the same QA store: each mismatch once.
    warned.clear()
    check_views("wrist", (32, 32), (8, 4), [], [str(trained["run"])] * 2, warn=warned.append)
    assert len(warned) == 1 and "--camera front" in warned[0]
    # The other direction, and shards that disagree among themselves.
    warned.clear()
    check_views("front", (32, 32), (12, 6), [{"tessellation": None, "shards": 3}], [],
                warn=warned.append)
    assert warned == ["the training shards were drawn with the model's 28 16 (no --tessellation), "
                      "eval-sim draws the VLM's view with --tessellation 12 6; leave --tessellation "
                      "out to draw it as in training"]
    warned.clear()
    rep = check_views("front", (32, 32), (8, 4), [{"tessellation": [8, 4], "shards": 2},
                                                  {"tessellation": None, "shards": 1}], [],
                      warn=warned.append)
    assert len(warned) == 1 and "mix tessellations (--tessellation 8 4 in 2 shard(s), the " \
        "model's 28 16 (no --tessellation) in 1 shard(s))" in warned[0]
    # Nothing to compare with: nothing checked, nothing said.
    warned.clear()
    rep = check_views("front", (32, 32), None, [], [str(trained["qa"] / "no_run")], warn=warned.append)
    assert warned == [] and not rep["checked"]


@pytest.mark.parametrize("argv", [["--tessellation", "2", "1"], ["--tessellation", "8", "1"],
                                  ["--tessellation", "8", "999"], ["--tessellation", "8", "x"]])
def test_bad_tessellation_is_one_line_and_exit_2(argv, tmp_path, capsys):
    assert main(["eval-sim", "--policy", "oracle", "--tasks", TASK, "--out", str(tmp_path / "o"),
                 *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--tessellation" in err and "Traceback" not in err, err
    assert not (tmp_path / "o").exists()


def test_rlbench_backend_refuses_tessellation_in_one_line(tmp_path, capsys):
    assert main(["eval-sim", "--policy", "noop", "--backend", "rlbench", "--tasks", "close_jar",
                 "--tessellation", "8", "4", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the rlbench backend renders with its own simulator: drop " \
        "--tessellation" in err, err
    assert not (tmp_path / "o").exists()
