"""Bad input to either CLI: exit code 2 (1 for validate's "the data is bad"), exactly one line on
stderr that names the problem, never a traceback.

Each case is one line of BANK: (cli, arguments, exit code, text the error line must contain).
Placeholders: {tmp} a fresh directory, {data} a tiny valid dataset, {file} an existing file,
{ro} a directory nothing can be written to, {bad_yaml} / {typed_yaml} / {unknown_yaml} /
{list_yaml} / {qa_typed_yaml} / {grpo_yaml} broken configs, {binqa} a QA store whose questions.jsonl is
binary. Most cases run in-process (``main(argv)``, fast); SUBPROCESS runs a few as real
processes to prove no traceback reaches the terminal.
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def xfail(owner, why):
    """A case whose fix belongs to another part of the code; strict, so the fix shows up."""
    return pytest.mark.xfail(strict=True, reason=f"{why} (fix owned by {owner})")


BANK = [
    ("data", "generate --tasks push_button --out {tmp}/o --seed -1", 2, "--seed"),
    ("data", "generate --tasks push_button --out {tmp}/o --max-attempts 0", 2, "--max-attempts"),
    ("data", "generate --tasks push_button --out {tmp}/o --episodes 1000000000000000", 2, "--episodes"),
    ("data", "generate --tasks push_button --out ''", 2, "--out is empty"),
    ("data", "generate --tasks push_button push_button --out {tmp}/o", 2, "more than once"),
    ("data", "generate --tasks push_button --out {tmp}/o --ray 127.0.0.1:1", 2, "cannot reach Ray"),
    ("data", "generate --tasks push_button --out {tmp}/o --ray nowhere", 2, "not an address"),
    ("data", "generate --tasks push_button --out {tmp}/o --episodes abc", 2, "invalid int"),
    ("data", "generate --tasks push_button --out {tmp}/o --compression brotli", 2, "invalid choice"),
    ("data", "generate --tasks push_button --out {tmp}/o --bogus", 2, "unrecognized"),
    ("data", "generate --tasks push_button --out {tmp}/o --variation -1", 2, "--variation"),
    ("data", "generate --tasks push_buton --out {tmp}/o", 2, "did you mean"),
    ("data", "generate --out {tmp}/o", 2, "--tasks is required"),
    ("data", "generate --tasks push_button --out {ro}/o", 2, "cannot write"),
    ("data", "generate --tasks push_button --out {tmp}/o --workers 0", 2, "--workers"),
    ("data", "generate --tasks push_button --out {tmp}/o --image-every 0", 2, "--image-every"),
    ("data", "generate --tasks push_button --out {tmp}/o --episodes-per-shard 0", 2,
     "--episodes-per-shard"),
    ("data", "generate --tasks push_button --out {tmp}/o --cameras side", 2, "unknown camera"),
    ("data", "generate --tasks push_button --out {tmp}/o --image-size 16", 2, "expected 2"),
    ("data", "generate --tasks push_button --out {tmp}/o --ray-timeout 0", 2, "--ray-timeout"),
    ("data", "generate --config {bad_yaml}", 2, "not valid YAML"),
    ("data", "generate --tasks push_button --out {tmp}/o --config {typed_yaml}", 2,
     "--episodes (in "),
    ("data", "gallery --tasks push_buton --out {tmp}/g", 2, "did you mean"),
    ("data", "gallery --tasks push_button --out {ro}/g", 2, "cannot write"),
    ("data", "gallery --tasks push_button --out {tmp}/g --image-size 0 0", 2, "--image-size"),
    ("data", "gallery --tasks push_button --out {tmp}/g --image-size 100000 100000", 2, "--image-size"),
    ("data", "contact-sheet {data} --out {ro}/sheet.png", 2, "cannot write"),
    ("data", "contact-sheet {data} --out {file}/sheet.png", 2, "cannot write"),
    ("data", "contact-sheet {data} --out {tmp}/sheet.png --camera wrist", 2, "wrist_rgb"),
    ("data", "contact-sheet {tmp}/nothing --out {tmp}/sheet.png", 2, "does not exist"),
    ("data", "build-qa {data} --out {tmp}/q --config {bad_yaml}", 2, "not valid YAML"),
    ("data", "build-qa {data} --out {tmp}/q --config {unknown_yaml}", 2, "did you mean 'stride'"),
    ("data", "build-qa {data} --out {tmp}/q --config {list_yaml}", 2, "must be a mapping"),
    ("data", "build-qa {data} --out {tmp}/q --config {qa_typed_yaml}", 2, "--stride"),
    ("data", "build-qa {data} --out {tmp}/q --config {tmp}/missing.yaml", 2, "cannot read config"),
    ("data", "build-qa {data} --out {tmp}/q --types nonsense", 2, "unknown question type"),
    ("data", "build-qa {tmp}/nothing --out {tmp}/q", 2, "does not exist"),
    ("data", "build-qa {data} --out {tmp}/q --stride 0", 2, "--stride"),
    ("data", "build-qa {data} --out {tmp}/q --image-size 0 0", 2, "--image-size"),
    ("data", "build-qa {data} --out {tmp}/q --min-move nan", 2, "--min-move"),
    ("data", "build-qa {data} --out {tmp}/q --movement-distractors nearest", 2, "invalid choice"),
    ("data", "build-qa {data} --out {tmp}/q --workspace 1 0 0 1 0 1", 2, "workspace"),
    ("data", "render {data} --out {ro}/r", 2, "cannot write"),
    ("data", "render {data} --out {tmp}/r --no-rgb --no-depth --no-mask", 2, "nothing to render"),
    ("data", "render {tmp}/nothing --out {tmp}/r", 2, "does not exist"),
    ("data", "render {data} --out {tmp}/r --workers 0", 2, "--workers"),
    ("data", "render {data} --out {tmp}/r --image-every 0", 2, "--image-every"),
    ("data", "gallery --out {tmp}/g --seed -1", 2, "--seed"),
    ("data", "import-rlbench {tmp} --out {tmp}/i --episodes-per-shard 0", 2, "--episodes-per-shard"),
    ("data", "export-rlbench {data} --out {tmp}/x --layout flat", 2, "invalid choice"),
    ("data", "inspect {tmp}/nothing", 2, "does not exist"),
    ("data", "inspect {file}", 2, "not an HDF5 file"),
    ("data", "validate {tmp}/nothing", 2, "does not exist"),
    ("data", "validate {file}", 1, None),
    ("data", "export-rlbench {data} --out {ro}/x", 2, "cannot write"),
    ("data", "import-rlbench {tmp}/nothing --out {tmp}/i", 2, "not a directory"),
    ("data", "demo --episodes 0", 2, "--episodes"),
    ("data", "", 2, "required"),
    ("data", "list-tasks --foo", 2, "unrecognized"),
    ("data", "export-qa {tmp}/nothing --format trl --out {tmp}/e", 2, "no questions.jsonl"),
    ("train", "grpo --qa {tmp}/nothing --model x --out {tmp}/r", 2, "does not exist"),
    ("train", "sft --qa {tmp}/nothing --model x --out {tmp}/r --target direct", 2, "does not exist"),
    ("train", "eval-qa --qa {tmp}/nothing --model x", 2, "does not exist"),
    ("train", "eval-sim --policy oracle --tasks push_button --episodes 1 --out {tmp}/ev --variation 999 "
     "--no-video --quiet --train-data {data}", 2, "out of range"),
    ("train", "make-tiny-model --out {file}", 2, "is an existing file"),
    ("train", "make-tiny-model --out {ro}/m", 2, "cannot write"),
    ("train", "make-tiny-model --out {tmp}/m --seed -1", 2, "--seed"),
    ("train", "eval-sim --policy oracle --out {tmp}/ev --episodes abc", 2, "invalid int"),
    ("train", "eval-sim --policy oracle --out {tmp}/ev --episodes 0", 2, "--episodes"),
    ("train", "eval-sim --policy oracle --out {tmp}/ev --backend nowhere", 2, "invalid choice"),
    ("train", "eval-sim --policy orcle --out {tmp}/ev", 2, "did you mean"),
    ("train", "eval-sim --out {tmp}/ev", 2, "--policy is required"),
    ("train", "eval-sim --policy oracle --out {tmp}/ev --config {typed_yaml}", 2, "--episodes (in "),
    ("train", "grpo --qa {tmp}/nothing --model x --out {tmp}/r --learning-rate nan", 2,
     "--learning-rate must be a finite number"),
    ("train", "grpo --qa {tmp}/nothing --model x --out {tmp}/r --temperature nan", 2,
     "--temperature must be a finite number"),
    ("train", "grpo --qa {tmp}/nothing --model x --out {tmp}/r --epochs 0", 2, "--epochs"),
    ("train", "grpo --qa {tmp}/nothing --model x --out {tmp}/r --set kl_coef=nan", 2, "--set kl_coef"),
    ("train", "grpo --qa {tmp}/nothing --model x --out {tmp}/r --set klcoef=1", 2, "did you mean 'kl_coef'"),
    ("train", "grpo --qa {tmp}/nothing --model x --out {tmp}/r --progress-bar maybe", 2, "true or false"),
    ("train", "grpo --qa {tmp}/nothing --model x --out {tmp}/r --config {grpo_yaml}", 2, "--num-generations (in "),
    ("train", "grpo --model x --out {tmp}/r", 2, "--qa is required"),
    ("train", "grpo --qa {binqa} --model x --out {tmp}/r", 2, "not UTF-8"),
    ("train", "sft --qa {tmp}/nothing --model x --out {tmp}/r --target cott", 2, "invalid choice"),
    ("train", "eval-qa --qa {tmp}/nothing --model x --max-new-tokens 0", 2, "--max-new-tokens"),
    ("train", "eval-qa --qa {tmp}/nothing --model x --temperature -1", 2, "--temperature"),
    ("train", "eval-qa --qa {binqa} --model x", 2, "not UTF-8"),
    ("train", "eval-bench --model oracle --bench {tmp}/nothing --judge nonsense --out {tmp}/b", 2,
     "unknown judge 'nonsense'"),
    ("train", "eval-bench --model oracle --bench {tmp}/nothing --judge rules --out {tmp}/b "
     "--judge-timeout 0", 2, "--judge-timeout"),
    ("train", "eval-bench --model oracle --judge rules --out {tmp}/b", 2, "--bench is required"),
    ("data", "export-qa {binqa} --format trl --out {tmp}/e", 2, "not UTF-8"),
    ("data", "build-bench {data} --out {tmp}/b --per-type 0", 2, "--per-type"),
    ("data", "build-bench {tmp}/nothing --out {tmp}/b", 2, "does not exist"),
]

# Run as real processes too: the terminal sees one line and no traceback.
SUBPROCESS = [
    ("data", "generate --tasks push_button --out {tmp}/o --seed -1", 2, "--seed"),
    ("data", "generate --tasks push_button --out {tmp}/o --episodes abc", 2, "invalid int"),
    ("data", "build-qa {data} --out {tmp}/q --config {bad_yaml}", 2, "not valid YAML"),
    ("train", "eval-sim --policy oracle --out {tmp}/ev --episodes abc", 2, "invalid int"),
    ("train", "make-tiny-model --out {file}", 2, "is an existing file"),
]


def _subcommands(which):
    import argparse

    parser = (_main_module(which)).build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


@pytest.mark.parametrize("which", ["data", "train"])
def test_every_subcommand_has_a_case(which):
    """A new subcommand gets at least one bad-input line in BANK."""
    covered = set()
    for case in BANK:
        values = case.values if hasattr(case, "values") else case
        if values[0] == which and values[1]:
            covered.add(values[1].split()[0])
    missing = _subcommands(which) - covered
    assert not missing, f"add a BANK line for: {sorted(missing)}"


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    from robotr1_data import cli

    base = tmp_path_factory.mktemp("fuzz")
    data = base / "data"
    assert cli.main(["generate", "--tasks", "push_button", "--episodes", "1", "--out", str(data),
                     "--cameras", "front", "--image-size", "16", "16", "--quiet"]) == 0
    afile = base / "afile"
    afile.write_text("not a shard\n")
    yamls = {"bad_yaml": "tasks: [push_button\n", "typed_yaml": "episodes: many\n",
             "unknown_yaml": "strde: 3\n",
             "list_yaml": "- a\n- b\n", "qa_typed_yaml": "stride: ten\n",
             "grpo_yaml": "grpo:\n  num_generations: many\nsft:\n  epochs: 1\n"}
    for name, text in yamls.items():
        (base / f"{name}.yaml").write_text(text)
    binqa = base / "binqa"
    binqa.mkdir()
    (binqa / "questions.jsonl").write_bytes(bytes(range(256)) * 8)
    if os.geteuid() == 0:  # root writes through file modes: use a read-only file system
        ro = Path("/sys/robotr1-fuzz")
        if not Path("/sys").is_dir() or _writable(Path("/sys")):
            pytest.skip("no read-only place for root here")
    else:
        ro = base / "ro"
        ro.mkdir()
        ro.chmod(0o555)
    return dict(data=str(data), file=str(afile), ro=str(ro), binqa=str(binqa),
                **{k: str(base / f"{k}.yaml") for k in yamls})


def _writable(d: Path) -> bool:
    try:
        (d / ".robotr1-probe").mkdir()
    except OSError:
        return False
    (d / ".robotr1-probe").rmdir()
    return True


def _argv(template, places, tmp):
    return shlex.split(template.format(tmp=tmp, **places))


def _main_module(which):
    import importlib

    return importlib.import_module("robotr1_data.cli" if which == "data" else "robotr1_train.cli")


def _main(which):
    return _main_module(which).main


def _check(code, err, out, want_code, needle):
    assert "Traceback" not in err + out
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == want_code, (code, err)
    if want_code == 1:  # validate: the problems are the report on stdout
        assert len(lines) <= 1, err
        return
    assert len(lines) == 1, f"want one line on stderr, got:\n{err}"
    if needle:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("which, template, want_code, needle", BANK)
def test_bad_input_one_line(which, template, want_code, needle, places, tmp_path, capsys):
    try:
        code = _main(which)(_argv(template, places, tmp_path))
    except SystemExit as exc:  # argparse inside a CLI that does not catch it
        code = exc.code
    captured = capsys.readouterr()
    _check(code, captured.err, captured.out, want_code, needle)


@pytest.mark.parametrize("which, template, want_code, needle", SUBPROCESS)
def test_bad_input_one_line_in_a_real_process(which, template, want_code, needle, places, tmp_path):
    module = "robotr1_data.cli" if which == "data" else "robotr1_train.cli"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", module] + _argv(template, places, tmp_path),
                         capture_output=True, text=True, env=env, timeout=120)
    _check(run.returncode, run.stderr, run.stdout, want_code, needle)


def test_a_failed_image_write_is_an_error_not_a_printed_path(tmp_path):
    """cv2.imwrite says a write failed (full or read-only disk) only by returning False."""
    import numpy as np

    from robotr1_data.errors import UsageError
    from robotr1_data.gallery import write_png

    with pytest.raises(UsageError, match="could not write"):
        write_png(tmp_path / "missing_dir" / "x.png", np.zeros((4, 4, 3), np.uint8))
    assert write_png(tmp_path / "ok.png", np.zeros((4, 4, 3), np.uint8)).is_file()
