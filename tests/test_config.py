"""Commands built from their config dataclasses: every field of every command's config is a flag
that reaches the config, YAML fills the same fields, and the stored config (shard, summary,
results.json, a run's config.yaml) holds what the flags said -- the check that would have caught
`generate --compression` being dropped. Both CLIs: robotr1-data and robotr1-train."""

import dataclasses
import json

import h5py
import pytest

from robotr1_data import cli, config
from robotr1_data.bench.builder import BenchConfig
from robotr1_data.contact_sheet import ContactSheetConfig
from robotr1_data.errors import UsageError
from robotr1_data.gallery import GalleryConfig
from robotr1_data.generate import EXECUTION_FIELDS, GenerateConfig
from robotr1_data.qa.builder import QAConfig
from robotr1_data.render import RenderConfig

# A non-default, valid value for every field of every converted command's config. A field added
# to a config without a value here fails test_every_field_has_a_sample: the new flag must be
# proved to reach the config.
SAMPLES = {
    GenerateConfig: dict(tasks=["reach_target", "push_button"], episodes=2, out="OUT", seed=5,
                         cameras=["front", "wrist"], image_size=(16, 24), rgb=False, depth=False,
                         mask=False, render_quality=True, variation=1, image_every=3,
                         episodes_per_shard=1, max_attempts=4, workers=3, backend="rlbench",
                         compression="gzip", ray="auto", ray_timeout=2.5, tessellation=(8, 4)),
    RenderConfig: dict(shards=["A", "B"], out="OUT", cameras=["wrist"], image_size=(16, 20),
                       rgb=False, depth=False, mask=False, render_quality=True, image_every=5,
                       workers=2, tessellation=(12, 6)),
    QAConfig: dict(types=("current", "waypoint_open"), stride=4, camera="wrist",
                   image_size=(32, 48), seed=7, min_separation=0.02, min_move=0.02,
                   workspace=(-0.2, 0.7, -0.5, 0.5, 0.7, 1.5), include_failed=True,
                   movement_distractors="task", state_distractors="trajectory"),
    GalleryConfig: dict(out="OUT", image_size=(32, 40), seed=2, tasks=["push_button"]),
    ContactSheetConfig: dict(shards=["A"], out="sheet.png", camera="wrist"),
    cli.ImportRLBenchConfig: dict(root="ROOT", out="OUT", tasks=["close_jar"],
                                  episodes_per_shard=3),
    cli.ExportRLBenchConfig: dict(shards=["A"], out="OUT", layout="all_variations",
                                  sim_state=False),
    cli.InspectConfig: dict(file="F"),
    cli.ValidateConfig: dict(dir="D", full=True),
    cli.DemoConfig: dict(out="OUT", episodes=3, seed=4, workers=2),
    BenchConfig: dict(shards=("A", "B"), out="BENCH", per_type=3, seed=2, camera="wrist",
                      image_size=(16, 20), min_move=0.02, margin=0.05, include_failed=True,
                      quiet=True),
}
COMMANDS = {"generate": GenerateConfig, "render": RenderConfig, "build-qa": QAConfig,
            "gallery": GalleryConfig, "contact-sheet": ContactSheetConfig,
            "import-rlbench": cli.ImportRLBenchConfig, "export-rlbench": cli.ExportRLBenchConfig,
            "inspect": cli.InspectConfig, "validate": cli.ValidateConfig, "demo": cli.DemoConfig,
            "build-bench": BenchConfig}
# Arguments a command has beside its config (build-qa's store location).
EXTRA_ARGV = {"build-qa": ["SHARD", "--out", "QA"]}


def _default(f):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


class _Built(Exception):
    pass


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_every_field_has_a_sample(cls):
    sample = SAMPLES[cls]
    for f in dataclasses.fields(cls):
        assert f.name in sample, f"add a non-default sample for {cls.__name__}.{f.name}"
        assert sample[f.name] != _default(f), f"{cls.__name__}.{f.name}: sample is the default"
        assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help text"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_flag_reaches_the_config(command, monkeypatch):
    """The command's own code path (cli.main -> its cmd function) builds the config from flags."""
    cls = COMMANDS[command]
    expected = SAMPLES[cls]
    real_build = config.build

    def capture(c, values, source="", from_file=None, **kw):
        if c is not cls:
            return real_build(c, values, source, from_file, **kw)
        # Validation needs the simulator registry / RLBench; the round trip is about the values.
        raise _Built(values)

    monkeypatch.setattr(config, "build", capture)
    argv = [command] + EXTRA_ARGV.get(command, []) + config.to_argv(cls(**expected))
    with pytest.raises(_Built) as got:
        cli.main(argv)
    values = got.value.args[0]
    parsed = {}
    for f in dataclasses.fields(cls):
        assert f.name in values, f"{command}: flag {config.flag_name(f)} did not reach the config"
        v = values[f.name]
        parsed[f.name] = f.metadata["parse"](v) if "parse" in f.metadata else v
    built = cls(**{k: config._coerce(v, config._hints(cls)[k], k) for k, v in parsed.items()})
    assert dataclasses.asdict(built) == dataclasses.asdict(cls(**expected))


def test_generate_config_reaches_every_shard_and_the_manifest(tmp_path):
    """A real run: every content field of GenerateConfig is stored in the shard as given, the
    compression is the one the datasets use, and the manifest holds the whole config."""
    sample = dict(SAMPLES[GenerateConfig], backend="mujoco", workers=1, ray=None,
                  tasks=["reach_target"], out=str(tmp_path / "d"))
    argv = ["generate", "--quiet"] + config.to_argv(GenerateConfig(**sample))
    assert cli.main(argv) == 0
    shard = tmp_path / "d" / "reach_target" / "shard-00001.h5"
    with h5py.File(shard, "r") as f:
        stored = json.loads(f.attrs["config"])
        codecs = set()
        f.visititems(lambda n, o: codecs.add(o.compression) if isinstance(o, h5py.Dataset)
                     and o.compression else None)
    want = GenerateConfig(**sample).shard_config()
    for f in dataclasses.fields(GenerateConfig):
        if f.name in EXECUTION_FIELDS:
            continue
        assert stored[f.name] == want[f.name], f"{f.name} did not reach the shard"
    assert codecs == {"gzip"}, codecs
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())["config"]
    full = GenerateConfig(**sample).to_json()
    for f in dataclasses.fields(GenerateConfig):  # execution fields included
        assert manifest[f.name] == full[f.name], f"{f.name} did not reach manifest.json"


def test_render_config_reaches_the_shard(tmp_path):
    src = tmp_path / "src"
    assert cli.main(["generate", "--quiet", "--tasks", "reach_target", "--episodes", "1",
                     "--out", str(src), "--cameras", "none"]) == 0
    sample = dict(SAMPLES[RenderConfig], shards=[str(src)], out=str(tmp_path / "r"),
                  mask=True, workers=1)  # all three off is refused: nothing to render
    assert cli.main(["render", "--quiet"] + config.to_argv(RenderConfig(**sample))) == 0
    with h5py.File(tmp_path / "r" / "reach_target" / "shard-00000.h5", "r") as f:
        stored = json.loads(f.attrs["config"])
    for name in ("cameras", "rgb", "depth", "mask", "render_quality", "image_every"):
        assert stored[name] == sample[name], name
    for name in ("image_size", "tessellation"):
        assert stored[name] == list(sample[name]), name


def test_build_qa_config_reaches_the_summary(tmp_path):
    from test_qa import make_episode, write_shard

    write_shard(tmp_path / "s" / "a.h5", [make_episode(s, cameras=("wrist",)) for s in range(2)]
                + [make_episode(9, cameras=("wrist",), success=False)])
    cfg = QAConfig(**SAMPLES[QAConfig])
    argv = ["build-qa", str(tmp_path / "s"), "--out", str(tmp_path / "qa"), "--quiet"]
    assert cli.main(argv + config.to_argv(cfg)) == 0
    stored = json.loads((tmp_path / "qa" / "summary.json").read_text())["config"]
    assert stored == cfg.to_dict()


def test_yaml_fills_fields_and_flags_override(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("tasks: [push_button]\nepisodes: 3\ncompression: none\nimage_size: [32, 48]\n"
                 "out: somewhere\n")
    args = cli.build_parser().parse_args(["generate", "--config", str(p), "--episodes", "4"])
    cfg = config.from_args(GenerateConfig, args)
    assert (cfg.tasks, cfg.episodes, cfg.compression, cfg.image_size, cfg.out) == \
        (["push_button"], 4, None, (32, 48), "somewhere")


@pytest.mark.parametrize("text, needle", [
    ("stride: [1, 2\n", "not valid YAML at line"),
    ("- a\n- b\n", "must be a mapping"),
    ("strde: 3\n", "did you mean 'stride'"),
    ("stride: ten\n", "--stride (in"),
    ("image_size: [1, 2, 3]\n", "takes 2 values"),
    ("include_failed: maybe\n", "true or false"),
    ("min_move: .nan\n", "finite"),
    ("camera: 3\n", "takes text"),
])
def test_bad_yaml_is_one_usage_error(tmp_path, text, needle):
    p = tmp_path / "qa.yaml"
    p.write_text(text)
    with pytest.raises(UsageError, match=needle.replace("[", r"\[").replace("(", r"\(")):
        QAConfig.from_yaml(str(p))


def test_yaml_values_meet_the_flag_choices(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("tasks: [push_button]\nout: o\ncompression: brotli\n")
    args = cli.build_parser().parse_args(["generate", "--config", str(p)])
    with pytest.raises(UsageError, match=r"--compression \(in .*\) must be one of zstd, gzip"):
        config.from_args(GenerateConfig, args)


def test_help_comes_from_the_field_metadata(capsys):
    assert cli.main(["generate", "--help"]) == 0
    out = capsys.readouterr().out
    for f in dataclasses.fields(GenerateConfig):
        assert config.flag_name(f) in out
    assert "shard compression" in out and "(default: zstd)" in out


def test_docs_flag_tables_match_the_code():
    """docs/cli.md's flag tables are the parser's own help (regenerate with
    `python -m robotr1_data.cli_docs docs/cli.md`)."""
    from pathlib import Path

    from robotr1_data.cli_docs import BEGIN, END, flag_tables

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    generated = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert generated.strip() == flag_tables().strip(), \
        "docs/cli.md is stale: run python -m robotr1_data.cli_docs docs/cli.md"
    for cls in SAMPLES:
        for f in dataclasses.fields(cls):
            assert f"`{config.flag_name(f)}" in generated, config.flag_name(f)


def test_every_config_built_command_is_in_the_round_trip():
    from robotr1_data.cli_docs import _subparsers

    built = {name: sub.get_default("config_class")
             for name, sub in _subparsers(cli.build_parser()).items()
             if sub.get_default("config_class") is not None}
    assert built == COMMANDS, "add the command and a SAMPLES entry for its config"


def test_view_fields_are_declared_once_and_shown_after_each_commands_own():
    """generate and render take their seven view flags from one base class (ViewConfig), shown
    where each command put them before (after --seed, after --out), not first."""
    from robotr1_data.cli_docs import _subparsers
    from robotr1_data.views import ViewConfig

    views = [f.name for f in dataclasses.fields(ViewConfig)]
    assert views == ["cameras", "image_size", "rgb", "depth", "mask", "render_quality",
                     "tessellation"]
    subs = _subparsers(cli.build_parser())
    for command, cls, after in (("generate", GenerateConfig, "seed"),
                                ("render", RenderConfig, "out")):
        assert issubclass(cls, ViewConfig)
        assert {f.name for f in dataclasses.fields(cls)} >= set(views)
        dests = [a.dest for a in subs[command]._actions if a.dest in
                 {f.name for f in dataclasses.fields(cls)}]
        assert [f.name for f in config.config_fields(cls)] == dests
        at = dests.index(after) + 1
        assert dests[at:at + len(views)] == views, dests
        assert dests[0] != "cameras"
    with pytest.raises(UsageError, match="name the shards to render"):
        RenderConfig(out="x").validate()
    with pytest.raises(UsageError, match="--tasks needs at least one task"):
        GenerateConfig(out="x").validate()


def heavy_imports_of_build_parser(cli_module: str, heavy: tuple) -> str:
    """The modules of ``heavy`` that ``CLI_MODULE.build_parser()`` imports, in a fresh interpreter."""
    import subprocess
    import sys

    code = (f"import sys, {cli_module} as c; c.build_parser(); "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_building_the_parser_loads_no_simulator():
    """`robotr1-data --help` (and every bad-flag error) answers without importing MuJoCo."""
    found = heavy_imports_of_build_parser(
        "robotr1_data.cli", ("mujoco", "mink", "robotr1_data.backends.mujoco.mujoco_sim", "h5py"))
    assert found == "", f"building the parser imported {found}"


# ---------------------------------------------------------------------------- robotr1-train

from robotr1_train import cli as train_cli  # noqa: E402
from robotr1_train.bench.run import EvalBenchConfig  # noqa: E402
from robotr1_train.config import GRPOConfig, SFTConfig  # noqa: E402
from robotr1_train.evaluation.closed_loop import EvalSimConfig  # noqa: E402
from robotr1_train.evaluation.offline_qa import EvalQAConfig  # noqa: E402

_COMMON = dict(seed=3, epochs=2, learning_rate=2e-5, weight_decay=0.05, adam_beta1=0.8,
               adam_beta2=0.99, adam_eps=1e-6, max_grad_norm=0.5, lr_warmup_ratio=0.1,
               micro_batch_size=2, max_prompt_length=1024, max_steps=7, save_steps=3,
               save_total_limit=1, logging_steps=2, report_to="none",
               question_types=["waypoint", "movement"], max_samples=3, lora=True, lora_r=8,
               lora_alpha=16, lora_dropout=0.1, dtype="fp32", mixed_precision="no",
               gradient_checkpointing=True, progress_bar=False)
TRAIN_SAMPLES = {
    train_cli.RunConfig: dict(qa="QA", model="M", out="RUN", resume=True),
    GRPOConfig: dict(_COMMON, num_generations=2, temperature=0.7, top_p=0.9, top_k=4, max_response_length=16,
                     rollout_batch_size=4, global_batch_size=2, num_iterations=2,
                     advantage_estimator="rloo", std_normalize=False, kl_coef=0.0,
                     kl_estimator="low_var_kl", clip_ratio=0.3, clip_ratio_high=0.28,
                     loss_agg_mode="seq_mean_token_mean", format_weight=0.5, accuracy_weight=2.0,
                     log_completions=False, num_completions_to_print=0, use_vllm=True,
                     vllm_mode="server", vllm_server_base_url="http://127.0.0.1:8000",
                     vllm_gpu_memory_utilization=0.5),
    SFTConfig: dict(_COMMON, target="cot", global_batch_size=4, max_response_length=16),
    train_cli.TinyModelConfig: dict(out="OUT", seed=3, tokenizer_qa="QA", vocab_size=1024, hidden_size=128, layers=3),
    EvalSimConfig: dict(policies=["oracle", "noop"], tasks=["push_button", "reach_target"],
                        episodes=2, seed=3, out="OUT", variation=0, max_keypoints=5,
                        max_steps_per_keypoint=60, workers=2, camera="wrist", image_size=(64, 96),
                        video=False, video_every=2, video_fps=10, range_margin=0.1,
                        train_data=["A", "B"], max_new_tokens=32, vlm_gripper="keep",
                        do_sample=True, temperature=0.7, device="cpu", engine="auto",
                        show_progress=False, backend="rlbench", tessellation=(8, 4),
                        render_size=(32, 48)),
    EvalQAConfig: dict(qa="QA", model="M", out="O", types=["waypoint", "current"], max_samples=3,
                       batch_size=2, max_new_tokens=16, do_sample=True, temperature=0.5, seed=4,
                       device="cpu", engine="auto", keep_samples=2, show_progress=False),
    EvalBenchConfig: dict(model="oracle", bench="B", judge="rules", out="O", engine="auto",
                          concurrency=2, judge_base_url="http://127.0.0.1:1/v1", judge_timeout=5.0,
                          judge_retries=1, judge_cache="C", batch_size=2, max_new_tokens=16,
                          max_samples=2, seed=4, device="cpu", quiet=True),
}
# Fields with a single allowed value: no non-default sample exists (still a flag, still checked).
SINGLE_VALUE = {(GRPOConfig, "kl_estimator")}
# The config classes each command builds, its main config last.
TRAIN_COMMANDS = {"grpo": (train_cli.RunConfig, GRPOConfig), "sft": (train_cli.RunConfig, SFTConfig),
                  "make-tiny-model": (train_cli.TinyModelConfig,), "eval-sim": (EvalSimConfig,),
                  "eval-qa": (EvalQAConfig,), "eval-bench": (EvalBenchConfig,)}


def _train_argv(command, samples=None):
    argv = [command]
    for cls in TRAIN_COMMANDS[command]:
        argv += config.to_argv(cls(**(samples or {}).get(cls, TRAIN_SAMPLES[cls])))
    return argv


@pytest.mark.parametrize("cls", list(TRAIN_SAMPLES), ids=lambda c: c.__name__)
def test_every_train_field_has_a_sample(cls):
    sample = TRAIN_SAMPLES[cls]
    for f in dataclasses.fields(cls):
        assert f.name in sample, f"add a non-default sample for {cls.__name__}.{f.name}"
        if (cls, f.name) not in SINGLE_VALUE:
            assert sample[f.name] != _default(f), f"{cls.__name__}.{f.name}: sample is the default"
        assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help text"
    assert hasattr(cls, "validate"), f"{cls.__name__} has no validate()"


@pytest.mark.parametrize("command, cls", [(c, k) for c, ks in TRAIN_COMMANDS.items() for k in ks],
                         ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_every_train_flag_reaches_the_config(command, cls, monkeypatch):
    """robotr1-train's own code path (main -> its run function) builds each config from flags."""
    real_build = config.build

    def capture(c, values, source="", from_file=None, **kw):
        if c is not cls:
            return real_build(c, values, source, from_file, **kw)
        raise _Built(values)

    monkeypatch.setattr(config, "build", capture)
    with pytest.raises(_Built) as got:
        train_cli.main(_train_argv(command))
    values = got.value.args[0]
    hints = config._hints(cls)
    parsed = {}
    for f in dataclasses.fields(cls):
        if (cls, f.name) in SINGLE_VALUE and f.name not in values:
            continue  # its one value is the default, which to_argv leaves out
        assert f.name in values, f"{command}: flag {config.flag_name(f)} did not reach {cls.__name__}"
        v = values[f.name]
        v = f.metadata["parse"](v) if "parse" in f.metadata else v
        parsed[f.name] = config._coerce(v, hints[f.name], f.name)
    assert dataclasses.asdict(cls(**parsed)) == dataclasses.asdict(cls(**TRAIN_SAMPLES[cls]))


@pytest.mark.parametrize("command", ["grpo", "sft"])
def test_train_config_reaches_the_run_config_yaml(command, tmp_path, monkeypatch):
    """Every GRPOConfig/SFTConfig field given as a flag is what the trainer gets and what
    RUN_DIR/config.yaml stores; the run's paths land under `run:`. The trainer is replaced by a
    stand-in that writes config.yaml as the real one does (the real run: test_train_cli.py)."""
    import yaml

    from robotr1_train import runtime, trl_train
    from robotr1_train.testing import synthetic_records

    qa = tmp_path / "qa"
    qa.mkdir()
    (qa / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in synthetic_records(6)))
    cls = TRAIN_COMMANDS[command][-1]
    run = dict(TRAIN_SAMPLES[train_cli.RunConfig], qa=str(qa), out=str(tmp_path / "run"), resume=False)
    sample = dict(TRAIN_SAMPLES[cls], use_vllm=False) if cls is GRPOConfig else TRAIN_SAMPLES[cls]

    class Stop(Exception):
        pass

    def stand_in(cfg, model, records, qa_dir, out, *, resume=False, run_info=None, **kw):
        assert (model, qa_dir, out, resume) == (run["model"], run["qa"], run["out"], False)
        assert len(records) == 3 and {r["type"] for r in records} <= {"waypoint", "movement"}
        runtime.write_run_config(out, cfg, dict(run_info, questions=len(records)))
        raise Stop

    monkeypatch.setattr(trl_train, f"train_{command}", stand_in)
    with pytest.raises(Stop):
        train_cli.main(_train_argv(command, {train_cli.RunConfig: run, cls: sample}))
    stored = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert stored[cls.__name__] == dataclasses.asdict(cls(**sample))
    assert {k: stored["run"][k] for k in ("command", "qa", "model", "resume")} == \
        dict(command=command, qa=run["qa"], model=run["model"], resume=False)


def test_yaml_sections_set_and_flags_stack_in_order(tmp_path):
    """defaults < YAML section < --set < flags; a file with only other sections gives nothing."""
    p = tmp_path / "r.yaml"
    p.write_text("grpo:\n  kl_coef: 0.5\n  epochs: 4\n  top_p: 0.5\nsft:\n  epochs: 9\n")
    args = train_cli.build_parser().parse_args(
        ["grpo", "--qa", "q", "--model", "m", "--out", "o", "--config", str(p),
         "--set", "epochs=6", "--set", "top_p=0.7", "--top-p", "0.8"])
    cfg = config.from_args(GRPOConfig, args)
    assert (cfg.kl_coef, cfg.epochs, cfg.top_p, cfg.num_generations) == (0.5, 6, 0.8, 5)
    q = tmp_path / "eval_only.yaml"
    q.write_text("eval:\n  anything: 1\n")
    args = train_cli.build_parser().parse_args(["sft", "--qa", "q", "--model", "m", "--out", "o",
                                                "--config", str(q)])
    assert config.from_args(SFTConfig, args) == SFTConfig()


def test_eval_sim_config_reaches_results_json(tmp_path):
    sample = dict(TRAIN_SAMPLES[EvalSimConfig], backend="mujoco", engine="hf", workers=1,
                  tasks=["push_button"], episodes=1, train_data=[], out=str(tmp_path / "ev"))
    assert train_cli.main(_train_argv("eval-sim", {EvalSimConfig: sample})) == 0
    stored = json.loads((tmp_path / "ev" / "results.json").read_text())["config"]
    assert stored == EvalSimConfig(**sample).to_json()


def test_eval_qa_config_reaches_results_json(tmp_path, monkeypatch):
    """The model is a stand-in that always answers A (loading and generation: test_eval_vlm.py)."""
    import robotr1_train.data as data
    from robotr1_train.policies import vlm
    from robotr1_train.testing import synthetic_image_loader, synthetic_records

    qa = tmp_path / "qa"
    qa.mkdir()
    (qa / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in synthetic_records(6)))
    monkeypatch.setattr(data, "default_image_loader", synthetic_image_loader)

    class Answers:
        engine = type("E", (), {"name": "hf"})()

        def generate(self, records, images):
            return ["<answer> [[A]] </answer>"] * len(records)

    got = {}
    monkeypatch.setattr(vlm.VLMGenerator, "from_run_dir",
                        classmethod(lambda c, model, **kw: got.update(kw, model=model) or Answers()))
    sample = dict(TRAIN_SAMPLES[EvalQAConfig], qa=str(qa), out=str(tmp_path / "o"), engine="hf")
    assert train_cli.main(_train_argv("eval-qa", {EvalQAConfig: sample})) == 0
    stored = json.loads((tmp_path / "o" / "results.json").read_text())["config"]
    assert stored == dataclasses.asdict(EvalQAConfig(**sample))
    assert got == dict(model="M", device="cpu", engine="hf", max_new_tokens=16, do_sample=True,
                       temperature=0.5, seed=4)


def test_bench_configs_reach_summary_and_results_json(tmp_path):
    """build-bench's flags reach summary.json, eval-bench's reach results.json (oracle answers,
    rules judge: no model)."""
    src = tmp_path / "src"
    assert cli.main(["generate", "--quiet", "--tasks", "push_button", "--episodes", "1",
                     "--out", str(src), "--cameras", "front", "wrist", "--image-size", "16", "16",
                     "--no-depth", "--no-mask", "--image-every", "4"]) == 0
    bench = dict(SAMPLES[BenchConfig], shards=(str(src),), out=str(tmp_path / "bench"))
    assert cli.main(["build-bench"] + config.to_argv(BenchConfig(**bench))) == 0
    stored = json.loads((tmp_path / "bench" / "summary.json").read_text())["config"]
    assert stored == BenchConfig(**bench).to_dict()
    sample = dict(TRAIN_SAMPLES[EvalBenchConfig], bench=bench["out"], out=str(tmp_path / "eb"),
                  judge_cache=str(tmp_path / "cache.jsonl"))
    assert train_cli.main(_train_argv("eval-bench", {EvalBenchConfig: sample})) == 0
    stored = json.loads((tmp_path / "eb" / "results.json").read_text())["config"]
    assert stored == dataclasses.asdict(EvalBenchConfig(**sample))


def test_every_config_built_train_command_is_in_the_round_trip():
    from robotr1_data.cli_docs import _subparsers

    built = {name: sub.get_default("config_class")
             for name, sub in _subparsers(train_cli.build_parser()).items()}
    assert built == {c: ks[-1] for c, ks in TRAIN_COMMANDS.items()}, \
        "every robotr1-train command is built from a config: add it and a TRAIN_SAMPLES entry"


def test_train_docs_flag_tables_match_the_code():
    """docs/cli.md's robotr1-train tables are the parser's own help (regenerate with
    `python -m robotr1_train.cli_docs docs/cli.md`)."""
    from pathlib import Path

    from robotr1_data.cli_docs import generated
    from robotr1_train.cli_docs import BEGIN, flag_tables

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert generated(text, BEGIN).strip() == flag_tables().strip(), \
        "docs/cli.md is stale: run python -m robotr1_train.cli_docs docs/cli.md"
    for cls in TRAIN_SAMPLES:
        for f in dataclasses.fields(cls):
            assert f"`{config.flag_name(f)}" in generated(text, BEGIN), config.flag_name(f)


def test_train_help_comes_from_the_field_metadata(capsys):
    assert train_cli.main(["grpo", "--help"]) == 0
    out = capsys.readouterr().out
    for f in dataclasses.fields(GRPOConfig):
        assert config.flag_name(f) in out
    assert "divide advantages by the group's standard deviation" in out
    assert "(default: 0.01)" in out


def test_building_the_train_parser_loads_no_model_or_simulator():
    """`robotr1-train --help` and every bad-flag error answer without torch, transformers or MuJoCo."""
    found = heavy_imports_of_build_parser(
        "robotr1_train.cli",
        ("torch", "transformers", "trl", "mujoco", "robotr1_data.backends.mujoco.mujoco_sim", "h5py"))
    assert found == "", f"building the parser imported {found}"


def test_generator_choices_from_a_registry_repeat_and_valued_bools():
    """What the training commands need of the generator: choices read when the parser is built (a
    registry filled after the dataclass was defined), repeatable list flags, bools with a value."""
    from typing import List, Optional

    registry = ["a"]

    @dataclasses.dataclass
    class C:
        kind: str = config.opt("a", "from the registry", choices=lambda: registry)
        names: List[str] = config.opt(help="repeatable", default_factory=list, repeat=True)
        bar: bool = config.opt(True, "valued", bool_value=True)
        maybe: Optional[bool] = config.opt(None, "true, false or none")

    registry.append("b")  # registered after C was defined
    p = config.Parser(prog="t")
    config.add_config_args(p, C, set_flag=True)
    cfg = config.from_args(C, p.parse_args(["--kind", "b", "--names", "x", "--names", "y", "z",
                                            "--bar", "false", "--maybe", "true"]))
    assert (cfg.kind, cfg.names, cfg.bar, cfg.maybe) == ("b", ["x", "y", "z"], False, True)
    assert config.from_args(C, p.parse_args(["--set", "kind=b", "--set", "bar=no"])) == \
        C(kind="b", bar=False)
    with pytest.raises(UsageError, match=r"--kind \(--set kind\) must be one of a, b, got 'c'"):
        config.from_args(C, p.parse_args(["--set", "kind=c"]))
    with pytest.raises(UsageError, match=r"--kind must be one of a, b, got 'c'"):
        config.check_bounds(C(kind="c"))  # a config built in Python meets the same declared choices
    config.check_bounds(C(kind="b"))
    with pytest.raises(UsageError, match="--set bar takes true or false"):
        config.from_args(C, p.parse_args(["--set", "bar=perhaps"]))
    assert config.to_argv(C(kind="b", names=["x"], bar=False, maybe=False)) == \
        ["--kind", "b", "--names", "x", "--bar", "false", "--maybe", "false"]
