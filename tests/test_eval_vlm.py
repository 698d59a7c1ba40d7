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
    from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
    from robotr1_data.tasks.registry import get_task
    from robotr1_train.evaluation.closed_loop import EvalSimConfig, run_episode
    from robotr1_data.backends.mujoco.keypoint_env import MujocoKeypointEnv
    from robotr1_train.policies.vlm import VLMPolicy

    teacher = _Teacher()
    policy = VLMPolicy("unused", image_size=(56, 56), generator=teacher)
    sim = MujocoSim(get_task("reach_target"), cameras=["front"], image_size=(64, 64), depth=False, mask=False)
    try:
        cfg = EvalSimConfig(out=str(tmp_path), video=False, max_keypoints=3)
        from robotr1_train.evaluation.seeds import eval_episode_seed

        sim.reset(0, np.random.default_rng(eval_episode_seed(0, "reach_target", 0)))
        teacher.waypoints = [np.asarray(w.pos) for w in sim.task.waypoints]
        env = MujocoKeypointEnv(sim, observe_images=True)
        rec = run_episode(env, policy, cfg, "reach_target", 0, "vlm-teacher")
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


def test_eval_qa_and_eval_sim_refuse_bad_decoding(tiny_path, tmp_path, capsys):
    _qa_store(tmp_path / "qa")
    qa = ["eval-qa", "--qa", str(tmp_path / "qa"), "--model", tiny_path, "--out", str(tmp_path / "o")]
    sim = ["eval-sim", "--policy", f"vlm:{tiny_path}", "--out", str(tmp_path / "s"), "--tasks", "reach_target"]
    cases = [
        (qa + ["--max-new-tokens", "0"], "--max-new-tokens"),
        (qa + ["--temperature", "-1"], "--temperature"),
        (qa + ["--temperature", "nan"], "--temperature"),
        (qa + ["--do-sample", "--temperature", "0"], "--do-sample"),
        (qa + ["--batch-size", "0"], "--batch-size"),
        (qa + ["--engine", "vllm"], "--engine vllm"),  # no CUDA and no vllm on this machine
        (sim + ["--max-new-tokens", "0"], "--max-new-tokens"),
        (sim + ["--temperature", "-1"], "--temperature"),
        (sim + ["--engine", "vllm"], "--engine vllm"),
    ]
    for argv, what in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("robotr1-train: error:") and what in err[0], (argv, err)
    assert not (tmp_path / "o").exists() and not (tmp_path / "s").exists()  # refused before writing


# --- engines ---------------------------------------------------------------------------------------
class _FakeVLLM:
    """A faithful stand-in for the part of vLLM's offline API the engine uses: ``LLM(model, **engine
    args)``, ``LLM.generate(prompts, SamplingParams, use_tqdm=, lora_request=)`` with prompts as
    ``{"prompt": str, "multi_modal_data": {"image": PIL | [PIL]}}``, results as
    ``outputs[i].outputs[0].text``, and ``vllm.lora.request.LoRARequest``. Like vLLM it refuses
    unknown sampling fields and a prompt whose image placeholders do not match its images."""

    SAMPLING_FIELDS = {"n", "temperature", "top_p", "top_k", "seed", "max_tokens", "min_tokens", "stop",
                       "skip_special_tokens", "presence_penalty", "frequency_penalty", "repetition_penalty"}

    def __init__(self, image_token="<|image_pad|>"):
        import types

        fake = self
        self.llms, self.calls = [], []
        mod = types.ModuleType("vllm")

        class SamplingParams:
            def __init__(self, **kw):
                unknown = set(kw) - fake.SAMPLING_FIELDS
                if unknown:
                    raise TypeError(f"SamplingParams got unexpected fields {unknown}")
                self.__dict__.update(kw)

        class LoRARequest:
            def __init__(self, lora_name, lora_int_id, lora_path):
                self.lora_name, self.lora_int_id, self.lora_path = lora_name, lora_int_id, lora_path

        class LLM:
            def __init__(self, model, **kwargs):
                self.model, self.kwargs = model, kwargs
                fake.llms.append(self)

            def generate(self, prompts, sampling_params=None, use_tqdm=True, lora_request=None):
                from PIL import Image

                assert isinstance(sampling_params, SamplingParams)
                outs = []
                for p in prompts:
                    assert isinstance(p["prompt"], str)
                    imgs = p.get("multi_modal_data", {}).get("image", [])
                    imgs = imgs if isinstance(imgs, list) else [imgs]
                    assert all(isinstance(im, Image.Image) for im in imgs)
                    if p["prompt"].count(image_token) != len(imgs):
                        raise ValueError("number of image placeholders does not match the images")
                    if len(imgs) > self.kwargs.get("limit_mm_per_prompt", {}).get("image", 1):
                        raise ValueError("too many images for limit_mm_per_prompt")
                    text = f"<answer> [[{'ABCD'[len(fake.calls) % 4]}]] </answer>"
                    fake.calls.append({"prompt": p["prompt"], "images": [np.asarray(im) for im in imgs],
                                       "params": sampling_params, "lora": lora_request})
                    outs.append(types.SimpleNamespace(prompt=p["prompt"],
                                                      outputs=[types.SimpleNamespace(text=text, token_ids=[])]))
                return outs

        mod.LLM, mod.SamplingParams = LLM, SamplingParams
        lora = types.ModuleType("vllm.lora")
        req = types.ModuleType("vllm.lora.request")
        req.LoRARequest = LoRARequest
        lora.request = req
        mod.lora = lora
        self.modules = {"vllm": mod, "vllm.lora": lora, "vllm.lora.request": req}


@pytest.fixture
def fake_vllm(monkeypatch):
    import importlib.machinery
    import sys

    import robotr1_train.engines as engines

    fake = _FakeVLLM()
    for name, mod in fake.modules.items():
        mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setattr(engines, "_cuda_available", lambda: True)
    return fake


def test_engine_names_and_auto(tiny_path):
    from robotr1_data.errors import UsageError
    from robotr1_train.engines import make_engine
    from robotr1_train.engines.hf import HFEngine

    assert isinstance(make_engine("auto", tiny_path, device="cpu"), HFEngine)  # no CUDA/vllm here
    with pytest.raises(UsageError, match="did you mean 'vllm'"):
        make_engine("vlm", tiny_path)
    with pytest.raises(UsageError, match="--engine vllm"):
        make_engine("vllm", tiny_path)


def test_vllm_engine_gets_the_hf_prompts_and_images(tiny_path, fake_vllm):
    from robotr1_train.data import prompt_messages, prompt_text, record_images
    from robotr1_train.engines import make_engine
    from robotr1_train.engines.hf import HFEngine

    recs = synthetic_records(5, images_per_prompt=[1, 2])
    requests = [(prompt_messages(r), record_images(r, None, synthetic_image_loader)) for r in recs]
    hf = make_engine("hf", tiny_path, device="cpu")
    engine = make_engine("vllm", tiny_path, dtype="bf16", max_images=2)
    assert engine.name == "vllm" and fake_vllm.llms[0].model == tiny_path
    assert fake_vllm.llms[0].kwargs["dtype"] == "bfloat16"
    texts = engine.generate(requests, max_new_tokens=7, temperature=0.0, seed=3)
    assert texts == [f"<answer> [[{'ABCD'[i % 4]}]] </answer>" for i in range(5)]
    assert len(fake_vllm.calls) == len(recs)
    for call, rec, (messages, images) in zip(fake_vllm.calls, recs, requests):
        # byte-identical to the hf path, and to what training renders
        assert call["prompt"] == hf.prompt_text(messages) == prompt_text(hf.processor, rec)
        assert len(call["images"]) == len(images)
        for got, want in zip(call["images"], images):
            np.testing.assert_array_equal(got, want)
        p = call["params"]
        assert (p.max_tokens, p.temperature, p.seed, p.top_p) == (7, 0.0, 3, 1.0) and call["lora"] is None
    assert isinstance(hf, HFEngine)
    out = hf.generate(requests[:2], max_new_tokens=3)  # the hf path runs on the same requests
    assert len(out) == 2 and all(isinstance(t, str) for t in out)


def test_vllm_engine_loads_a_lora_adapter_on_its_base(tiny_path, tmp_path, fake_vllm):
    from robotr1_train.engines import make_engine
    from robotr1_train.models import load_model_and_processor, save_processor

    run = tmp_path / "run"
    lp = load_model_and_processor(tiny_path, lora=True, lora_r=2, lora_alpha=4, device="cpu")
    lp.model.save_pretrained(run / "final")
    save_processor(lp.processor, run / "final")
    engine = make_engine("vllm", str(run))
    llm = fake_vllm.llms[-1]
    assert llm.model == tiny_path and llm.kwargs["enable_lora"] and llm.kwargs["max_lora_rank"] == 2
    rec = synthetic_records(1)[0]
    from robotr1_train.data import prompt_messages

    engine.generate([(prompt_messages(rec), [synthetic_image_loader(rec)])], 4, temperature=0.7, seed=1)
    call = fake_vllm.calls[-1]
    assert call["lora"].lora_path == str(run / "final") and call["params"].temperature == 0.7


def test_eval_qa_engine_vllm_end_to_end(tiny_path, tmp_path, monkeypatch, fake_vllm):
    """eval-qa --engine vllm sends the same prompts and images as --engine hf, and scores the answers."""
    import robotr1_train.data as data
    from robotr1_train.engines.hf import HFEngine

    monkeypatch.setattr(data, "default_image_loader", synthetic_image_loader)
    recs = _qa_store(tmp_path / "qa")
    sent = []
    real = HFEngine.generate

    def spy(self, requests, *a, **k):
        sent.extend((self.prompt_text(m), ims) for m, ims in requests)
        return real(self, requests, *a, **k)

    monkeypatch.setattr(HFEngine, "generate", spy)
    base = ["eval-qa", "--qa", str(tmp_path / "qa"), "--model", tiny_path, "--max-new-tokens", "4", "--quiet"]
    assert main(base + ["--out", str(tmp_path / "hf"), "--engine", "hf"]) == 0
    assert main(base + ["--out", str(tmp_path / "vllm"), "--engine", "vllm"]) == 0
    assert len(sent) == len(fake_vllm.calls) == len(recs)
    for (hf_text, hf_images), call, rec in zip(sent, fake_vllm.calls, recs):
        assert call["prompt"] == hf_text
        assert "<|image_pad|>" in hf_text and rec["prompt"].split("<image>")[0] in hf_text
        for got, want in zip(call["images"], hf_images):
            np.testing.assert_array_equal(got, want)
        assert call["params"].max_tokens == 4 and call["params"].temperature == 0.0
    res = json.loads((tmp_path / "vllm" / "results.json").read_text())
    assert res["config"]["engine"] == res["engine"] == "vllm" and res["overall"]["n"] == len(recs)
    # the fake answers A, B, C, D, ... in order; the MCQA truths are synthetic_records' letters
    assert res["by_type"]["waypoint"]["parse_failures"] == 0


def test_eval_sim_vlm_policy_on_vllm_gets_the_hf_prompt(tiny_path, tmp_path, fake_vllm):
    from robotr1_train.data import prompt_messages
    from robotr1_train.engines import make_engine
    from robotr1_train.evaluation.closed_loop import EvalSimConfig
    from robotr1_train.policies import Observation, make_policy
    from robotr1_train.policies.base import PolicyOutputError

    cfg = EvalSimConfig(policies=[f"vlm:{tiny_path}"], out=str(tmp_path), engine="vllm", image_size=(56, 56))
    policy = make_policy(f"vlm:{tiny_path}", **cfg.vlm_options())
    assert policy.generator.engine.name == "vllm" and policy.describe()["engine"] == "vllm"
    image = np.random.default_rng(0).integers(0, 256, (56, 56, 3), dtype=np.uint8)
    obs = Observation("reach_target", 0, "reach the red target", np.array([0.3, 0.0, 0.9]), True,
                      {"front": image}, np.zeros(7), 0)
    with pytest.raises(PolicyOutputError):  # the fake answers a letter, not [x, y, z]
        policy.predict(obs)
    call = fake_vllm.calls[-1]
    hf = make_engine("hf", tiny_path, device="cpu")
    assert call["prompt"] == hf.prompt_text(prompt_messages(policy.prompt(obs)))
    np.testing.assert_array_equal(call["images"][0], image)
