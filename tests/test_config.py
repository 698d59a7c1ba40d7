"""Commands built from their config dataclasses: every field of every command's config is a flag
that reaches the config, YAML fills the same fields, and the stored config (shard, summary) holds
what the flags said -- the check that would have caught `generate --compression` being dropped."""

import dataclasses
import json

import h5py
import pytest

from robotr1_data import cli, config
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
                         compression="gzip", ray="auto", ray_timeout=2.5),
    RenderConfig: dict(shards=["A", "B"], out="OUT", cameras=["wrist"], image_size=(16, 20),
                       rgb=False, depth=False, mask=False, render_quality=True, image_every=5,
                       workers=2),
    QAConfig: dict(types=("current", "waypoint_open"), stride=4, camera="wrist",
                   image_size=(32, 48), seed=7, min_separation=0.02, min_move=0.02,
                   workspace=(-0.2, 0.7, -0.5, 0.5, 0.7, 1.5), include_failed=True),
    GalleryConfig: dict(out="OUT", image_size=(32, 40), seed=2, tasks=["push_button"]),
    ContactSheetConfig: dict(shards=["A"], out="sheet.png", camera="wrist"),
    cli.ImportRLBenchConfig: dict(root="ROOT", out="OUT", tasks=["close_jar"],
                                  episodes_per_shard=3),
    cli.ExportRLBenchConfig: dict(shards=["A"], out="OUT", layout="all_variations",
                                  sim_state=False),
    cli.InspectConfig: dict(file="F"),
    cli.ValidateConfig: dict(dir="D", full=True),
    cli.DemoConfig: dict(out="OUT", episodes=3, seed=4, workers=2),
}
COMMANDS = {"generate": GenerateConfig, "render": RenderConfig, "build-qa": QAConfig,
            "gallery": GalleryConfig, "contact-sheet": ContactSheetConfig,
            "import-rlbench": cli.ImportRLBenchConfig, "export-rlbench": cli.ExportRLBenchConfig,
            "inspect": cli.InspectConfig, "validate": cli.ValidateConfig, "demo": cli.DemoConfig}
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
    assert stored["image_size"] == list(sample["image_size"])


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


def test_building_the_parser_loads_no_simulator():
    """`robotr1-data --help` (and every bad-flag error) answers without importing MuJoCo."""
    import subprocess
    import sys

    code = ("import sys, robotr1_data.cli as c; c.build_parser(); "
            "print(','.join(m for m in ('mujoco', 'mink', 'robotr1_data.sim', 'h5py') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"building the parser imported {out.stdout.strip()}"
