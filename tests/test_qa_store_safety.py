"""The QA store is complete or refused: a build-qa killed between questions.jsonl and
summary.json (or before either) is noticed by every reader, in one line."""

import json

import pytest

from robotr1_data.errors import UsageError
from robotr1_data.qa import builder, store

from test_qa import make_episode, write_shard  # noqa: F401  (shared fixtures' helpers)


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa_safety")
    write_shard(root / "shards" / "a.h5", [make_episode(s) for s in range(3)])
    out = root / "qa"
    builder.build_qa([str(root / "shards")], str(out), builder.QAConfig(seed=1),
                     log=lambda *a: None)
    return root, out


def _copy(src, dst):
    import shutil
    shutil.copytree(src, dst)
    return dst


def test_a_complete_store_reads(qa):
    _, out = qa
    recs = store.read_records(out)
    assert len(recs) == json.loads((out / "summary.json").read_text())["num_questions"]


def test_records_and_summary_that_disagree_are_refused(qa, tmp_path):
    _, out = qa
    d = _copy(out, tmp_path / "qa")
    lines = (d / "questions.jsonl").read_text().splitlines(keepends=True)
    (d / "questions.jsonl").write_text("".join(lines[: len(lines) // 2]))  # killed mid-way
    with pytest.raises(UsageError, match="incomplete|disagree"):
        store.read_records(d)


def test_a_build_killed_before_summary_is_refused(qa, tmp_path, monkeypatch):
    root, _ = qa
    d = tmp_path / "qa"
    real = builder.atomic_write_text

    def killed(path, text):
        if str(path).endswith("summary.json"):
            raise KeyboardInterrupt  # the kill lands between the two files
        real(path, text)
    monkeypatch.setattr(builder, "atomic_write_text", killed)
    with pytest.raises(KeyboardInterrupt):
        builder.build_qa([str(root / "shards")], str(d), builder.QAConfig(seed=1),
                         log=lambda *a: None)
    monkeypatch.undo()
    assert (d / "questions.jsonl").exists()
    with pytest.raises(UsageError, match="incomplete") as e:
        store.read_records(d)
    assert "rerun" in str(e.value) and "build-qa" in str(e.value)
    # The rerun completes it.
    builder.build_qa([str(root / "shards")], str(d), builder.QAConfig(seed=1), log=lambda *a: None)
    assert store.read_records(d)


def test_export_qa_cli_refuses_an_incomplete_store(qa, tmp_path, capsys):
    from robotr1_data import cli
    _, out = qa
    d = _copy(out, tmp_path / "qa")
    (d / "summary.json").unlink()
    lines = (d / "questions.jsonl").read_text().splitlines(keepends=True)
    (d / "questions.jsonl").write_text("".join(lines[:2]))
    # An earlier complete build's summary, then a killed rebuild: they disagree.
    s = json.loads((out / "summary.json").read_text())
    (d / "summary.json").write_text(json.dumps(s))
    rc = cli.main(["export-qa", str(d), "--format", "trl", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "rerun" in err
