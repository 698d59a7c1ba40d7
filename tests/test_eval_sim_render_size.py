"""eval-sim renders the VLM's view at the training shards' render size and resizes it with
build-qa's own resize (`--render-size H W` overrides; nothing known: `--image-size`), so in the
default pipeline (generate at 128, build-qa at 224) the VLM is shown exactly the pixels it was
trained on. Policies that do not look render as before."""

import dataclasses
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from robotr1_data.backends import get_backend  # noqa: E402
from robotr1_data.qa import store  # noqa: E402
from robotr1_train.cli import main  # noqa: E402
from robotr1_train.evaluation import closed_loop, seeds  # noqa: E402
from robotr1_train.evaluation.closed_loop import EvalSimConfig  # noqa: E402
from robotr1_train.evaluation.view_check import check_views, resolve_render_size  # noqa: E402
from robotr1_train.policies.vlm import VLMGenerator  # noqa: E402

TASK = "reach_target"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """The default pipeline in small: generate (front camera, 128x128, generate's default size)
    -> build-qa (224x224, its default) -> a run directory naming the QA store, as robotr1-train
    leaves it (config.yaml -> run.qa)."""
    from robotr1_data.generate import GenerateConfig, generate
    from robotr1_data.qa.builder import QAConfig, build_qa
    from robotr1_data.shards import ShardReader

    root = tmp_path_factory.mktemp("render_size")
    data = root / "data"
    generate(GenerateConfig(tasks=[TASK], episodes=1, out=str(data), seed=5, cameras=["front"],
                            depth=False, mask=False), show_progress=False)
    shard = next(data.rglob("*.h5"))
    qa = root / "qa"
    build_qa([str(shard)], str(qa), QAConfig(), log=lambda *a, **k: None)
    # The QA store's image of the episode's first frame: the state right after reset.
    first = next(r for r in store.read_records(qa) if int(r["frame"]) == 0)
    with ShardReader(str(shard)) as reader:
        attrs = reader.attrs(first["episode"])
    run = root / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"run": {"qa": str(qa)}}))
    return {"run": run, "qa": qa, "image": store.load_image(first, qa), "record": first,
            "seed": int(attrs["seed"]), "variation": int(attrs["variation"])}


class _Shown:
    """Stands in for the model behind a real VLMPolicy: keeps the images the policy hands it and
    answers nothing usable, so each episode ends after its first keypoint."""

    max_new_tokens, do_sample, temperature = 8, False, 1.0

    def __init__(self):
        self.images = []

    def generate(self, records, images):
        self.images.append(np.array(images[0][0]))
        return ["no answer"]


@pytest.fixture
def shown(pipeline, monkeypatch):
    """Eval episode 0 replays the training episode's seed and variation (so its first frame is
    the shard's frame 0), and the vlm policy's generator is the stand-in; also records the
    image size every keypoint env was built with."""
    gen = _Shown()
    monkeypatch.setattr(closed_loop, "_POLICIES", {})
    monkeypatch.setattr(VLMGenerator, "from_run_dir", classmethod(lambda cls, *a, **k: gen))
    monkeypatch.setattr(seeds, "eval_episode_seed", lambda seed, task, episode: pipeline["seed"])
    backend = get_backend("mujoco")
    make, sizes = backend.keypoint_env, []

    def spy(task, **options):
        sizes.append(tuple(options["image_size"]))
        return make(task, **options)

    monkeypatch.setattr(backend, "keypoint_env", spy)
    return gen, sizes


def _eval(pipeline, out, *extra, policy=None):
    return main(["eval-sim", "--policy", policy or f"vlm:{pipeline['run']}", "--tasks", TASK,
                 "--episodes", "1", "--variation", str(pipeline["variation"]), "--max-keypoints",
                 "1", "--quiet", "--out", str(out), *extra])


def _results(out):
    return json.loads((out / "results.json").read_text())


def test_default_shows_the_vlm_exactly_the_qa_stores_image(pipeline, shown, tmp_path, capsys):
    gen, sizes = shown
    assert _eval(pipeline, tmp_path / "auto", "--no-video") == 0
    assert sizes == [(128, 128)]
    image = gen.images[0]
    assert image.shape == (224, 224, 3) and pipeline["record"]["image_size"] == [224, 224]
    assert np.array_equal(image, pipeline["image"])
    res = _results(tmp_path / "auto")
    assert res["config"]["render_size"] == [128, 128]
    assert set(res["config"]) <= {f.name for f in dataclasses.fields(EvalSimConfig)}  # reruns as is
    vc = res["view_check"]
    assert vc["eval"]["render_size"] == [128, 128] and vc["eval"]["image_size"] == [224, 224]
    assert vc["render_size_source"] == "training shards" and vc["mismatches"] == []
    assert vc["training_render_sizes"] == [{"image_size": [128, 128], "shards": 1}]
    assert not [w for w in capsys.readouterr().err.splitlines() if "size" in w]


def test_rendering_at_the_image_size_is_not_what_training_showed(pipeline, shown, tmp_path, capsys):
    """The old behaviour (no resize: a native 224 render), now opt-in: the same state gives other
    pixels, which is what the test above would see if the resize were bypassed."""
    gen, sizes = shown
    assert _eval(pipeline, tmp_path / "native", "--no-video", "--render-size", "224", "224") == 0
    assert sizes == [(224, 224)] and gen.images[0].shape == (224, 224, 3)
    assert not np.array_equal(gen.images[0], pipeline["image"])
    # The same state rendered at 128 and resized by build-qa's function is the QA image again.
    from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
    from robotr1_data.tasks.registry import get_task

    sim = MujocoSim(get_task(TASK), cameras=["front"], image_size=(128, 128), depth=False, mask=False)
    try:
        sim.reset(pipeline["variation"], np.random.default_rng(pipeline["seed"]))
        again = store.resize(sim.render()["front_rgb"], (224, 224))
    finally:
        sim.close()
    assert np.array_equal(again, pipeline["image"])
    res = _results(tmp_path / "native")
    assert res["config"]["render_size"] == [224, 224] and res["view_check"]["render_size_source"] == "flag"
    assert res["view_check"]["mismatches"] == [{
        "setting": "render_size", "training": [128, 128], "eval": [224, 224],
        "fix": "leave --render-size out (or pass --render-size 128 128)"}]
    warnings = [w for w in capsys.readouterr().err.splitlines() if "render" in w]
    assert warnings == [
        "warning: the training shards were rendered at 128x128 and resized to the QA size, "
        "eval-sim renders the VLM's view at 224x224 (--render-size); leave --render-size out (or "
        "pass --render-size 128 128) to render it as in training"], warnings
    assert "render_size: training [128, 128], eval [224, 224]" in (tmp_path / "native" / "report.md").read_text()


def test_videos_and_policies_that_do_not_look(pipeline, shown, tmp_path):
    """A vlm's video shows the frames it was rendered from; an oracle renders at --image-size
    whatever --render-size says, and its config keeps the flag as given."""
    gen, sizes = shown
    assert _eval(pipeline, tmp_path / "vid", "--image-size", "64", "64") == 0
    assert sizes == [(128, 128)] and gen.images[0].shape == (64, 64, 3)
    assert _results(tmp_path / "vid")["episodes"][0]["video"]
    sizes.clear()
    assert _eval(pipeline, tmp_path / "oracle", "--no-video", "--render-size", "96", "96",
                 "--image-size", "48", "48", policy="oracle") == 0
    assert sizes == [(48, 48)]
    res = _results(tmp_path / "oracle")
    assert res["config"]["render_size"] == [96, 96] and "render_size_source" not in res["config"]
    assert res["view_check"] is None


def test_nothing_known_renders_at_the_image_size_and_mixed_sizes_warn_once(tmp_path):
    assert resolve_render_size(None, (224, 224), []) == ((224, 224), "image size")
    assert resolve_render_size(None, (224, 224), [{"image_size": None, "shards": 2}]) == \
        ((224, 224), "image size")
    assert resolve_render_size((96, 80), (224, 224), [{"image_size": [128, 128], "shards": 1}]) == \
        ((96, 80), "flag")
    mixed = [{"image_size": [128, 128], "shards": 2}, {"image_size": [64, 64], "shards": 1}]
    assert resolve_render_size(None, (224, 224), mixed) == ((224, 224), "image size")
    warned = []
    rep = check_views("front", (224, 224), None, [], [], warn=warned.append, render_size=(224, 224),
                      render_source="image size", training_sizes=mixed)
    assert warned == ["the training shards mix render sizes (128x128 in 2 shard(s), 64x64 in 1 "
                      "shard(s)); eval-sim renders the VLM's view at 224x224 (--image-size); pick "
                      "the training one with --render-size H W"]
    assert [m["setting"] for m in rep["mismatches"]] == ["render_size"] and rep["checked"]
    # A run without a QA store (a hub model): nothing known, the old behaviour, nothing said.
    warned.clear()
    rep = check_views("front", (224, 224), None, [], [str(tmp_path / "nowhere")], warn=warned.append)
    assert warned == [] and not rep["checked"] and rep["eval"]["render_size"] == [224, 224]


@pytest.mark.parametrize("argv", [["--render-size", "0", "5"], ["--render-size", "x", "64"],
                                  ["--render-size", "64"], ["--render-size", "64", "2000"]])
def test_bad_render_size_is_one_line_and_exit_2(argv, tmp_path, capsys):
    assert main(["eval-sim", "--policy", "oracle", "--tasks", TASK, "--out", str(tmp_path / "o"),
                 *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--render-size" in err and "Traceback" not in err, err
    assert not (tmp_path / "o").exists()
