"""`--tessellation SLICES STACKS` on generate and render: opt-in coarser drawing of MuJoCo's
built-in shapes. It changes pixels, so it is stored with the shard's settings, a resume or an
extension with another value is refused, and leaving it out writes the bytes it always did."""

import numpy as np
import pytest

from robotr1_data import cli
from robotr1_data.generate import GenerateConfig
from robotr1_data.shards import ShardReader, read_manifest
from robotr1_data.errors import UsageError

TASK = "reach_target"
SMALL = ["--tasks", TASK, "--episodes", "1", "--seed", "3", "--cameras", "front", "wrist",
         "--image-size", "32", "32", "--quiet"]
SHARD = f"{TASK}/shard-00000.h5"


def _sha(out):
    return {e["path"]: e["sha256"] for e in read_manifest(out)["shards"]}[SHARD]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("tess")
    assert cli.main(["generate", *SMALL, "--out", str(root / "exact")]) == 0
    assert cli.main(["generate", *SMALL, "--out", str(root / "coarse"),
                     "--tessellation", "8", "4"]) == 0
    return root


def test_generate_stores_the_tessellation_and_it_changes_only_pixels(made):
    with ShardReader(made / "exact" / SHARD) as e, ShardReader(made / "coarse" / SHARD) as c:
        assert "tessellation" not in e.config  # the default's settings are those of before
        assert c.config["tessellation"] == [8, 4]
        assert {k: v for k, v in c.config.items() if k != "tessellation"} == e.config
        x, y = e.load(0), c.load(0)
        np.testing.assert_array_equal(x.sim_state, y.sim_state)  # the physics is the same
        np.testing.assert_array_equal(x.image_frames, y.image_frames)
        assert sorted(x.images) == sorted(y.images)
        for key in x.images:
            assert x.images[key].shape == y.images[key].shape, key
        changed = [k for k in x.images if not np.array_equal(x.images[k], y.images[k])]
        assert "front_rgb" in changed and "wrist_rgb" in changed, changed
        # Outlines of curved shapes move, not the picture: a small mean difference.
        diff = np.abs(x.images["front_rgb"].astype(int) - y.images["front_rgb"].astype(int))
        assert 0 < diff.mean() < 8
    assert read_manifest(made / "coarse")["config"]["tessellation"] == [8, 4]
    assert "tessellation" not in read_manifest(made / "exact")["config"]


def test_resume_with_another_tessellation_is_refused(made, capsys):
    shard = made / "exact" / SHARD
    before = shard.stat().st_mtime_ns
    assert cli.main(["generate", *SMALL, "--out", str(made / "exact"),
                     "--tessellation", "8", "4"]) == 2
    assert "made with other settings (tessellation None -> [8, 4])" in capsys.readouterr().err
    assert cli.main(["generate", *SMALL, "--out", str(made / "coarse"),
                     "--tessellation", "12", "6"]) == 2
    assert "tessellation [8, 4] -> [12, 6]" in capsys.readouterr().err
    assert shard.stat().st_mtime_ns == before
    # The same value resumes: nothing rewritten.
    coarse = made / "coarse" / SHARD
    kept = coarse.stat().st_mtime_ns
    assert cli.main(["generate", *SMALL, "--out", str(made / "coarse"),
                     "--tessellation", "8", "4"]) == 0
    assert coarse.stat().st_mtime_ns == kept


def test_render_with_and_without_tessellation_matches_generate(made, capsys):
    """render with the flag gives generate-with-the-flag's bytes, and without it the default's
    (the source's tessellation is not carried over); extending an output made with another
    tessellation is refused and leaves it as it was."""
    views = ["--cameras", "front", "wrist", "--image-size", "32", "32", "--quiet"]
    to_coarse, to_exact = made / "r_coarse", made / "r_exact"
    assert cli.main(["render", str(made / "exact"), "--out", str(to_coarse), *views,
                     "--tessellation", "8", "4"]) == 0
    assert _sha(to_coarse) == _sha(made / "coarse")
    assert cli.main(["render", str(made / "coarse"), "--out", str(to_exact), *views]) == 0
    assert _sha(to_exact) == _sha(made / "exact")
    capsys.readouterr()
    before = (to_exact / SHARD).stat().st_mtime_ns
    assert cli.main(["render", str(made / "coarse"), "--out", str(to_exact), *views,
                     "--tessellation", "8", "4"]) == 2
    assert "made with other settings (tessellation None -> [8, 4])" in capsys.readouterr().err
    assert cli.main(["render", str(made / "exact"), "--out", str(to_coarse), *views]) == 2
    assert "tessellation [8, 4] -> None" in capsys.readouterr().err
    assert (to_exact / SHARD).stat().st_mtime_ns == before


@pytest.mark.parametrize("argv", [["--tessellation", "2", "1"], ["--tessellation", "8", "1"],
                                  ["--tessellation", "8", "999"], ["--tessellation", "8", "x"]])
@pytest.mark.parametrize("command", ["generate", "render"])
def test_bad_tessellation_is_one_line_and_exit_2(command, argv, tmp_path, capsys):
    base = (["generate", "--tasks", TASK] if command == "generate" else ["render", str(tmp_path)])
    assert cli.main([*base, "--out", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--tessellation" in err and "Traceback" not in err, err
    assert not (tmp_path / "o").exists()


def test_yaml_key_and_a_backend_that_does_not_draw_with_mujoco(tmp_path, capsys):
    p = tmp_path / "g.yaml"
    p.write_text(f"tasks: [{TASK}]\nout: {tmp_path / 'o'}\ntessellation: [8]\n")
    assert cli.main(["generate", "--config", str(p)]) == 2
    assert "--tessellation (in" in capsys.readouterr().err
    cfg = GenerateConfig(tasks=["close_jar"], out=str(tmp_path / "r"), backend="rlbench",
                         tessellation=(8, 4))
    with pytest.raises(UsageError, match="rlbench backend renders with its own simulator"):
        cfg.check()
