"""Damaged or malformed shards and manifests give one line and exit code 2 (never a
traceback) from every command that reads them, naming the file, the episode and, for images,
the frame."""

import json

import h5py
import pytest

from robotr1_data import cli

from test_shards import make_episode, write_shard


@pytest.fixture
def good(tmp_path):
    p = tmp_path / "in" / "s.h5"
    p.parent.mkdir()
    write_shard(p, [make_episode(0, every=1), make_episode(2, every=1)])
    return p


def _one_line(capsys, argv, code=2):
    """The error line (exit 2), or for validate (exit 1: the data is bad) its report."""
    rc = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    err = out.err.strip()
    assert "Traceback" not in out.out + out.err
    assert rc == code, (rc, err, out.out)
    if code == 1:
        return out.out
    assert len(err.splitlines()) == 1, err
    return err


def _delete(path, name):
    with h5py.File(path, "a") as f:
        del f[name]


COMMANDS = {
    "inspect": lambda p, t: ["inspect", p],
    "contact-sheet": lambda p, t: ["contact-sheet", p, "--out", t / "sheet.png"],
    "build-qa": lambda p, t: ["build-qa", p, "--out", t / "qa", "--quiet"],
    "render": lambda p, t: ["render", p, "--out", t / "r", "--cameras", "front", "--image-size",
                            "16", "16", "--quiet"],
    "export-rlbench": lambda p, t: ["export-rlbench", p, "--out", t / "rlb"],
}


@pytest.mark.parametrize("field", ["joint_positions", "keypoints"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_shard_missing_a_field(good, tmp_path, capsys, field, command):
    _delete(good, f"episodes/000000/{field}")
    err = _one_line(capsys, COMMANDS[command](good, tmp_path))
    assert str(good) in err and "000000" in err and field in err


def test_config_not_json_inspect(good, capsys):
    with h5py.File(good, "a") as f:
        f.attrs["config"] = "{not json"
    err = _one_line(capsys, ["inspect", good])
    assert str(good) in err and "config" in err


@pytest.mark.parametrize("shards", [[1], ["shard.h5"], [{"path": 3}]])
@pytest.mark.parametrize("command", ["validate", "inspect"])
def test_manifest_with_non_object_entry(good, capsys, shards, command):
    d = good.parent
    (d / "manifest.json").write_text(json.dumps({"schema_version": 2, "shards": shards}))
    err = _one_line(capsys, [command, d], code=1 if command == "validate" else 2)
    assert "manifest.json" in err


@pytest.mark.parametrize("version", ["two", None, 2.5, [2]])
@pytest.mark.parametrize("command", ["validate", "inspect"])
def test_manifest_with_non_integer_schema_version(good, capsys, version, command):
    d = good.parent
    (d / "manifest.json").write_text(json.dumps({"schema_version": version, "shards": []}))
    err = _one_line(capsys, [command, d], code=1 if command == "validate" else 2)
    assert "schema_version" in err or "schema version" in err


def _corrupt_chunk(path, key="episodes/000001/front_rgb", row=3):
    with h5py.File(path, "r") as f:
        info = f[key].id.get_chunk_info(row)
    data = bytearray(path.read_bytes())
    data[info.byte_offset + info.size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("command", ["contact-sheet", "export-rlbench"])
def test_corrupt_image_chunk_names_file_episode_frame(good, tmp_path, capsys, command):
    _corrupt_chunk(good)  # episode 000001, image row 3 = frame 3 (a keypoint; images everywhere)
    err = _one_line(capsys, COMMANDS[command](good, tmp_path))
    assert str(good) in err and "000001" in err and "frame 3" in err


def test_corrupt_image_chunk_export_qa(good, tmp_path, capsys):
    assert cli.main(["build-qa", str(good), "--out", str(tmp_path / "qa"), "--quiet",
                     "--stride", "1"]) == 0
    recs = [json.loads(l) for l in (tmp_path / "qa" / "questions.jsonl").read_text().splitlines()]
    hit = next(r for r in recs if r["episode"].endswith("000001") and r["frame"] == 3)
    assert hit
    _corrupt_chunk(good)
    err = _one_line(capsys, ["export-qa", tmp_path / "qa", "--format", "trl", "--out",
                             tmp_path / "x"])
    assert "s.h5" in err and "000001" in err and "frame 3" in err


def test_corrupt_image_chunk_eval_qa(good, tmp_path, capsys, monkeypatch):
    """eval-qa reads the question images from the shards: a damaged chunk is one line naming the
    file, episode and frame, before any answer is scored (the model is a stand-in: no weights)."""
    pytest.importorskip("torch")
    from robotr1_train import cli as train_cli
    from robotr1_train.policies import vlm

    assert cli.main(["build-qa", str(good), "--out", str(tmp_path / "qa"), "--quiet",
                     "--stride", "1"]) == 0

    class Answers:
        engine = type("E", (), {"name": "hf"})()

        def generate(self, records, images):
            return ["<answer> [[A]] </answer>"] * len(records)

    monkeypatch.setattr(vlm.VLMGenerator, "from_run_dir", classmethod(lambda c, m, **kw: Answers()))
    argv = ["eval-qa", "--qa", str(tmp_path / "qa"), "--model", "M", "--out", str(tmp_path / "o"),
            "--quiet"]
    assert train_cli.main(argv) == 0  # intact shard: scored
    capsys.readouterr()
    _corrupt_chunk(good)
    rc = train_cli.main(argv)
    out = capsys.readouterr()
    err = out.err.strip()
    assert rc == 2 and "Traceback" not in out.err + out.out and len(err.splitlines()) == 1, err
    assert "s.h5" in err and "000001" in err and "frame 3" in err
