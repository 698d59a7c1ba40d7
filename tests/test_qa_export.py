"""robotr1-data export-qa: EasyR1, TRL and Hugging Face imagefolder layouts."""

import json

import cv2
import numpy as np
import pytest

from robotr1_data.errors import UsageError
from robotr1_data.qa import builder, commands, export, store, templates
from robotr1_train import rewards


def _helpers():
    # Load the synthetic-episode helpers from test_qa.py by path (works with any pytest import mode).
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_qa_test_helpers", Path(__file__).with_name("test_qa.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_h = _helpers()
make_episode, write_shard = _h.make_episode, _h.write_shard


@pytest.fixture(scope="module")
def qa_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa_export")
    write_shard(root / "shards" / "a.h5", [make_episode(0), make_episode(1, every=2)])
    cfg = builder.QAConfig(types=templates.QUESTION_TYPES, stride=30, image_size=(40, 56))
    builder.build_qa([str(root / "shards")], str(root / "qa"), cfg, log=lambda *a: None)
    return root / "qa"


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _png(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img[:, :, ::-1]


def test_easyr1(qa_dir, tmp_path):
    recs = store.read_records(qa_dir)
    manifest = export.export_qa(str(qa_dir), "easyr1", str(tmp_path), log=lambda *a: None)
    rows = _rows(tmp_path / "train.jsonl")
    assert len(rows) == len(recs) == manifest["num_questions"]
    assert manifest["num_images"] == len({(r["episode"], r["frame"]) for r in recs}) < len(recs)
    for row, rec in zip(rows, recs):
        assert {"problem", "answer", "images"} <= set(row)
        assert row["problem"] == rec["prompt"] and row["problem"].count("<image>") == len(row["images"]) == 1
        img = _png(tmp_path / row["images"][0])
        np.testing.assert_array_equal(img, store.load_image(rec, qa_dir))
        # the ground-truth string alone is enough for the reward
        assert rewards.reward(rec["sft_cot"], {"answer": row["answer"]})["total"] == 2.0
    assert json.loads((tmp_path / "export.json").read_text())["format"] == "easyr1"


def test_trl(qa_dir, tmp_path):
    recs = store.read_records(qa_dir)
    export.export_qa(str(qa_dir), "trl", str(tmp_path), sft="cot", log=lambda *a: None)
    rows = _rows(tmp_path / "train.jsonl")
    assert len(rows) == len(recs)
    for row, rec in zip(rows, recs):
        assert {"prompt", "images", "answer", "type", "completion"} <= set(row)
        (msg,) = row["prompt"]
        assert msg["role"] == "user"
        kinds = [c["type"] for c in msg["content"]]
        assert kinds == ["text", "image", "text"]
        text = "".join(c.get("text", "") for c in msg["content"])
        assert "<image>" not in text and "Franka Robot Assistant" in text
        assert _png(tmp_path / row["images"][0]).shape == (40, 56, 3)
        assert row["completion"][0]["role"] == "assistant"
        assert row["completion"][0]["content"][0]["text"] == rec["sft_cot"]


def test_hf_imagefolder(qa_dir, tmp_path):
    recs = store.read_records(qa_dir)
    export.export_qa(str(qa_dir), "hf", str(tmp_path), log=lambda *a: None)
    rows = _rows(tmp_path / "train" / "metadata.jsonl")
    assert len(rows) == len(recs)
    for row, rec in zip(rows, recs):
        assert {"file_name", "id", "type", "prompt", "options", "answer", "target", "sft_direct", "sft_cot"} <= set(row)
        assert isinstance(row["options"], list) and len(row["options"]) in (0, 4)
        assert (tmp_path / "train" / row["file_name"]).is_file()
        assert _png(tmp_path / "train" / row["file_name"]).shape == (40, 56, 3)
    assert len(list((tmp_path / "train").glob("*.png"))) == len(recs)


def test_export_cli_and_errors(qa_dir, tmp_path, capsys):
    assert commands.main(["export-qa", str(qa_dir), "--format", "easyr1", "--out", str(tmp_path / "e")]) == 0
    assert (tmp_path / "e" / "train.jsonl").is_file()
    with pytest.raises(UsageError, match="did you mean 'trl'"):
        export.export_qa(str(qa_dir), "tlr", str(tmp_path), log=lambda *a: None)
    with pytest.raises(UsageError, match="no questions.jsonl"):
        export.export_qa(str(tmp_path / "missing"), "trl", str(tmp_path), log=lambda *a: None)
