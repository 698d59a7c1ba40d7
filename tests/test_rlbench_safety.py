"""RLBench interop under attack and interruption: pickle bombs, resumable exports, partial
exports noticed on import, PerAct's per-episode descriptions, badly typed pickles."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from robotr1_data import cli
from robotr1_data.generate import GenerateConfig, generate
from robotr1_data.rlbench_io import safe_load, safe_loads


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("rec")
    generate(GenerateConfig(tasks=["push_button"], episodes=3, out=str(out), seed=2,
                            cameras=["front"], image_size=(16, 16)), show_progress=False)
    return out


def test_variation_layout_writes_descriptions_in_every_episode_folder(recorded, tmp_path):
    # PerAct's RLBench fork reads variation_descriptions.pkl from the episode folder.
    assert cli.main(["export-rlbench", str(recorded), "--out", str(tmp_path)]) == 0
    var_files = sorted(tmp_path.glob("push_button/variation*/variation_descriptions.pkl"))
    assert var_files, "the per-variation file stays"
    for vf in var_files:
        eps = sorted(vf.parent.glob("episodes/episode*"))
        assert eps
        for ep in eps:
            assert safe_load(ep / "variation_descriptions.pkl") == safe_load(vf)


def _export(recorded, out, *extra):
    return cli.main(["export-rlbench", str(recorded), "--out", str(out), *extra])


def _tree(root: Path):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_export_resumes_after_a_kill_and_import_refuses_a_partial_export(recorded, tmp_path,
                                                                         capsys):
    full = tmp_path / "full"
    assert _export(recorded, full) == 0
    # A killed run: the completeness record says incomplete, one episode is half written and
    # another never started.
    part = tmp_path / "part"
    assert _export(recorded, part) == 0
    import json
    rec = json.loads((part / "robotr1_export.json").read_text())
    rec["complete"] = False
    (part / "robotr1_export.json").write_text(json.dumps(rec))
    eps = sorted(part.rglob("episode*"))
    (eps[-1] / "low_dim_obs.pkl").unlink()  # killed before the pickle: the folder is partial
    for png in (eps[-1] / "front_rgb").glob("*.png"):
        png.write_bytes(b"half")
    capsys.readouterr()
    assert cli.main(["import-rlbench", str(part), "--out", str(tmp_path / "imp")]) == 2
    err = capsys.readouterr().err.strip()
    assert "partial export" in err and "rerun" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "imp" / "manifest.json").exists()

    assert _export(recorded, part) == 0, "a rerun continues, no 'already exists'"
    assert _tree(part) == _tree(full)
    assert cli.main(["import-rlbench", str(part), "--out", str(tmp_path / "imp")]) == 0


def test_export_refuses_an_out_holding_another_export(recorded, tmp_path, capsys):
    assert _export(recorded, tmp_path, "--layout", "all_variations") == 0
    capsys.readouterr()
    assert _export(recorded, tmp_path) == 2
    err = capsys.readouterr().err
    assert "another export" in err and "--layout" in err


def test_export_refuses_episode_folders_it_did_not_write(recorded, tmp_path, capsys):
    (tmp_path / "push_button" / "variation0" / "episodes" / "episode0").mkdir(parents=True)
    assert _export(recorded, tmp_path) == 2
    assert "already exists" in capsys.readouterr().err


def test_import_names_episodes_missing_from_a_complete_export(recorded, tmp_path, capsys):
    assert _export(recorded, tmp_path / "x") == 0
    victim = sorted((tmp_path / "x").rglob("episode*"))[0]
    import shutil
    shutil.rmtree(victim)
    assert cli.main(["import-rlbench", str(tmp_path / "x"), "--out", str(tmp_path / "i")]) == 2
    err = capsys.readouterr().err
    assert victim.relative_to(tmp_path / "x").as_posix() in err
