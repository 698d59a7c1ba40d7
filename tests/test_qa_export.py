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
    write_shard(root / "shards" / "a.h5", [make_episode(0), make_episode(1, every=2), make_episode(2)])
    cfg = builder.QAConfig(types=templates.QUESTION_TYPES, stride=30, image_size=(40, 56))
    builder.build_qa([str(root / "shards")], str(root / "qa"), cfg, log=lambda *a: None)
    return root / "qa"


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _png(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img[:, :, ::-1]


def _episodes(rows, by_id):
    return {(by_id[r["id"]]["shard"], by_id[r["id"]]["episode"]) for r in rows}


def test_easyr1_split_by_episode_seeded(qa_dir, tmp_path):
    recs = store.read_records(qa_dir)
    by_id = {r["id"]: r for r in recs}
    manifest = export.export_qa(str(qa_dir), "easyr1", str(tmp_path / "a"), log=lambda *a: None)
    train, val = _rows(tmp_path / "a" / "train.jsonl"), _rows(tmp_path / "a" / "val.jsonl")
    assert len(train) + len(val) == len(recs) == manifest["num_questions"]
    assert manifest["num_train"] == len(train) and manifest["num_val"] == len(val)
    # 3 episodes, 10%: one whole episode in val (never empty), none on both sides
    assert len(_episodes(val, by_id)) == 1 and len(_episodes(train, by_id)) == 2
    assert not _episodes(train, by_id) & _episodes(val, by_id)
    assert sorted(r["id"] for r in train + val) == sorted(by_id)
    # same seed, same split (byte-identical files); the seed is what picks the episodes
    export.export_qa(str(qa_dir), "easyr1", str(tmp_path / "b"), log=lambda *a: None)
    for name in ("train.jsonl", "val.jsonl", "config.yaml", "reward.py"):
        a, b = (tmp_path / "a" / name).read_text(), (tmp_path / "b" / name).read_text()
        assert a == b.replace(str(tmp_path / "b"), str(tmp_path / "a")), name
    picked = set()
    for seed in range(8):
        export.export_qa(str(qa_dir), "easyr1", str(tmp_path / f"s{seed}"), seed=seed, log=lambda *a: None)
        picked |= {frozenset(_episodes(_rows(tmp_path / f"s{seed}" / "val.jsonl"), by_id))}
    assert len(picked) > 1
    export.export_qa(str(qa_dir), "easyr1", str(tmp_path / "h"), val_fraction=0.5, log=lambda *a: None)
    assert len(_episodes(_rows(tmp_path / "h" / "val.jsonl"), by_id)) == 2  # round(1.5), at most all but one


def test_easyr1_rows_have_one_type_per_column(qa_dir, tmp_path):
    """EasyR1 stacks each extra column into an object array per batch and concatenates batches:
    a column that is a list on one row and null on another breaks DataProto.concat."""
    export.export_qa(str(qa_dir), "easyr1", str(tmp_path), log=lambda *a: None)
    rows = _rows(tmp_path / "train.jsonl") + _rows(tmp_path / "val.jsonl")
    keys = set(rows[0])
    assert keys == {"problem", "answer", "images", "id", "type", "task"}
    assert {r["type"] for r in rows} == set(templates.QUESTION_TYPES)  # movement and open rows both there
    for k in keys:
        assert all(set(r) == keys for r in rows)
        assert len({type(r[k]) for r in rows}) == 1, k
    assert all(len(r["images"]) == 1 and isinstance(r["images"][0], str) for r in rows)


class FakeEasyR1:
    """How EasyR1 (verl/utils/dataset.py RLHFDataset, verl/utils/dataset.py collate_fn,
    verl/protocol.py DataProto.concat, verl/workers/reward/function.py AutoRewardManager) reads our
    export, reduced to what touches the data: the same keys, the same splitting and path joins,
    the same image rescaling rule and the same way of loading and calling the reward file."""

    def __init__(self, cfg: dict):
        self.data = cfg["data"]
        path, name = cfg["worker"]["reward"]["reward_function"].rsplit(":", 1)
        import importlib.util
        import sys

        spec = importlib.util.spec_from_file_location("custom_reward_fn", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["custom_reward_fn"] = module
        try:
            spec.loader.exec_module(module)
        finally:
            sys.modules.pop("custom_reward_fn", None)
        assert getattr(module, "REWARD_TYPE", "batch") == "batch"
        self.reward_fn = getattr(module, name)

    def load(self, data_path: str) -> list:
        from datasets import load_dataset

        return list(load_dataset("json", data_files=data_path, split="train"))

    def build_messages(self, example: dict) -> list:
        assert self.data["format_prompt"] is None
        content = []
        for i, part in enumerate(example[self.data["prompt_key"]].split("<image>")):
            if i != 0:
                content.append({"type": "image"})
            if part:
                content.append({"type": "text", "text": part})
        return [{"role": "user", "content": content}]

    def process_image(self, path: str):
        import math

        from PIL import Image

        image = Image.open(path)
        image.load()
        lo, hi = self.data["min_pixels"], self.data["max_pixels"]
        if hi is not None and image.width * image.height > hi:
            f = math.sqrt(hi / (image.width * image.height))
            image = image.resize((int(image.width * f), int(image.height * f)))
        if lo is not None and image.width * image.height < lo:
            f = math.sqrt(lo / (image.width * image.height))
            image = image.resize((int(image.width * f), int(image.height * f)))
        return image.convert("RGB")

    def getitem(self, example: dict) -> dict:
        import os

        example = dict(example)
        messages = self.build_messages(example)
        example.pop(self.data["prompt_key"])
        images = [os.path.join(self.data["image_dir"], p) for p in example.pop(self.data["image_key"])]
        example["messages"] = messages
        example["processed_images"] = [self.process_image(p) for p in images]
        example["ground_truth"] = example.pop(self.data["answer_key"])
        return example

    @staticmethod
    def collate_and_concat(batches: list) -> dict:
        cols = {}
        for batch in batches:
            for k in batch[0]:
                if k in ("messages", "processed_images"):
                    continue
                arr = np.array([ex[k] for ex in batch], dtype=object)
                assert arr.ndim == 1, f"column {k} does not stack to one object per row"
                cols.setdefault(k, []).append(arr)
        return {k: np.concatenate(v) for k, v in cols.items()}

    def score(self, responses: list, ground_truths) -> list:
        return self.reward_fn([{"response": r, "response_length": len(r or ""), "ground_truth": g}
                               for r, g in zip(responses, ground_truths)])


def test_easyr1_reads_rows_and_scores_like_our_rewards(qa_dir, tmp_path):
    import yaml

    from robotr1_train.data import prompt_messages

    recs = {r["id"]: r for r in store.read_records(qa_dir)}
    export.export_qa(str(qa_dir), "easyr1", str(tmp_path), log=lambda *a: None)
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    easy = FakeEasyR1(cfg)
    train = [easy.getitem(ex) for ex in easy.load(cfg["data"]["train_files"])]
    val = [easy.getitem(ex) for ex in easy.load(cfg["data"]["val_files"])]
    assert train and val
    cols = easy.collate_and_concat([train[:5], train[5:], val])
    examples = train + val
    for ex in examples:
        rec = recs[ex["id"]]
        assert ex["messages"] == prompt_messages(rec)  # what eval-qa and our trainers send
        (img,) = ex["processed_images"]
        assert img.size == (rec["image_size"][1], rec["image_size"][0])  # stored size, not rescaled
        np.testing.assert_array_equal(np.asarray(img), store.load_image(rec, qa_dir))
    completions = []
    for ex in examples:
        rec = recs[ex["id"]]
        wrong = "A" if rec["answer"] != "A" else "B"
        completions += [(rec["sft_cot"], ex), (rec["sft_direct"], ex), ("garbage", ex), (None, ex),
                        (f"<think>x</think><answer> [[{wrong}]] </answer>", ex),
                        ("<think>x</think><answer> [0.3, 0.0, 1.0] </answer>", ex)]
    scores = easy.score([c for c, _ in completions], [ex["ground_truth"] for _, ex in completions])
    assert len(scores) == len(completions)
    for (text, ex), got in zip(completions, scores):
        want = rewards.reward(text, recs[ex["id"]])  # scored from the full record, type and target
        assert got == {"overall": want["total"], "format": want["format"], "accuracy": want["accuracy"]}
    assert {s["overall"] for s in scores} >= {0.0, 1.0, 2.0}
    assert any(0.0 < s["accuracy"] < 1.0 for s in scores)  # an open-ended answer scored by L1
    assert list(cols["ground_truth"]) == [ex["ground_truth"] for ex in examples]


def test_easyr1_config_paper_settings(qa_dir, tmp_path):
    import yaml

    export.export_qa(str(qa_dir), "easyr1", str(tmp_path), log=lambda *a: None)
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    d, alg, actor, rollout = cfg["data"], cfg["algorithm"], cfg["worker"]["actor"], cfg["worker"]["rollout"]
    out = str(tmp_path.resolve())
    assert d["train_files"] == f"{out}/train.jsonl" and d["val_files"] == f"{out}/val.jsonl"
    assert d["image_dir"] == out and cfg["worker"]["reward"]["reward_function"] == f"{out}/reward.py:compute_score"
    assert (d["prompt_key"], d["answer_key"], d["image_key"]) == ("problem", "answer", "images")
    assert d["format_prompt"] is None
    assert d["min_pixels"] == d["max_pixels"] == 40 * 56  # the stored size: no rescaling
    assert d["max_prompt_length"] == d["max_response_length"] == 2048
    assert d["rollout_batch_size"] == 512 and actor["global_batch_size"] == 128
    assert rollout["n"] == 5 and rollout["temperature"] == 1.0
    assert actor["optim"]["lr"] == 1e-6 and actor["optim"]["weight_decay"] == 1e-2
    assert (alg["use_kl_loss"], alg["kl_penalty"], alg["kl_coef"], alg["disable_kl"]) == (True, "low_var_kl", 1e-2, False)
    assert actor["clip_ratio_low"] == actor["clip_ratio_high"] == 0.2
    assert cfg["trainer"]["total_epochs"] == 5
    assert actor["model"]["model_path"] == "Qwen/Qwen2.5-VL-7B-Instruct"
    readme = (tmp_path / "README.md").read_text()
    assert f"python3 -m verl.trainer.main config={out}/config.yaml" in readme
    assert "fewer than one rollout batch" in readme  # a tiny export says how to shrink the batch
    assert "pip install --no-deps" in (tmp_path / "reward.py").read_text()


def test_easyr1_pixels_keep_224_at_64_tokens(tmp_path):
    from robotr1_data.qa import easyr1

    cfg = easyr1.config(tmp_path, (224 * 224, 224 * 224), "x")
    lo, hi = cfg["data"]["min_pixels"], cfg["data"]["max_pixels"]
    assert not (224 * 224 < lo or 224 * 224 > hi)  # EasyR1's process_image leaves 224x224 alone
    patch, merge = 14, 2  # Qwen2.5-VL: 14-pixel patches, 2x2 merged into one token
    assert (224 // patch) * (224 // patch) // (merge * merge) == 64
    # EasyR1's default min_pixels (262144) would rescale to 512x512 = 324 tokens
    assert 224 * 224 < 262144 and (512 // patch // merge) ** 2 == 324


def test_easyr1_split_errors(qa_dir, tmp_path, capsys):
    one = tmp_path / "one"
    write_shard(one / "shards" / "a.h5", [make_episode(0)])
    builder.build_qa([str(one / "shards")], str(one / "qa"), builder.QAConfig(stride=30), log=lambda *a: None)

    def err(argv):
        assert commands.main(argv) == 2
        e = capsys.readouterr().err.strip()
        assert "\n" not in e and "Traceback" not in e
        return e

    assert "needs at least 2" in err(["export-qa", str(one / "qa"), "--format", "easyr1", "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()  # nothing written before the input was checked
    for bad in ("0", "1", "-0.2", "1.5"):
        assert "--val-fraction" in err(["export-qa", str(qa_dir), "--format", "easyr1", "--out", str(tmp_path / "o"),
                                        "--val-fraction", bad])
    assert "easyr1 only" in err(["export-qa", str(qa_dir), "--format", "trl", "--out", str(tmp_path / "o"),
                                 "--val-fraction", "0.2"])
    assert "'@'" in err(["export-qa", str(qa_dir), "--format", "easyr1", "--out", str(tmp_path / "v@1")])
    assert not (tmp_path / "v@1").exists()


def test_export_bad_store(qa_dir, tmp_path, capsys):
    def err(argv):
        assert commands.main(argv) == 2
        e = capsys.readouterr().err.strip()
        assert "\n" not in e and "Traceback" not in e
        return e

    binary = tmp_path / "binary"
    binary.mkdir()
    (binary / "questions.jsonl").write_bytes(bytes(range(256)) * 4)
    for fmt in ("easyr1", "trl", "hf"):
        assert "questions.jsonl" in err(["export-qa", str(binary), "--format", fmt, "--out", str(tmp_path / "o")])
    lines = (qa_dir / "questions.jsonl").read_text().splitlines()
    for field in ("answer", "prompt", "episode"):
        broken = tmp_path / f"no_{field}"
        broken.mkdir()
        recs = [json.loads(x) for x in lines]
        del recs[3][field]
        (broken / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
        e = err(["export-qa", str(broken), "--format", "easyr1", "--out", str(tmp_path / "o")])
        assert f"has no {field}" in e and recs[3]["id"] in e
    assert not (tmp_path / "o").exists()



def test_trl(qa_dir, tmp_path):
    from robotr1_train.data import prompt_messages

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
        # the text around the image keeps its newlines, byte for byte: the same messages as ours
        assert "<image>".join(c.get("text", "") for c in msg["content"] if c["type"] == "text") == rec["prompt"]
        assert msg["content"][0]["text"].endswith("\n") and msg["content"][2]["text"].startswith("\n")
        assert row["prompt"] == prompt_messages(rec)
        assert _png(tmp_path / row["images"][0]).shape == (40, 56, 3)
        assert row["completion"][0]["role"] == "assistant"
        assert row["completion"][0]["content"][0]["text"] == rec["sft_cot"]
    # --sft answer: the direct target without its empty <think>, made at export time
    export.export_qa(str(qa_dir), "trl", str(tmp_path / "answer"), sft="answer", log=lambda *a: None)
    for row, rec in zip(_rows(tmp_path / "answer" / "train.jsonl"), recs):
        text = row["completion"][0]["content"][0]["text"]
        assert text.startswith("<answer> ") and rec["sft_direct"].endswith(text) and "<think>" not in text


def _docs_trl_recipe(out_dir) -> str:
    """The TRL loading recipe exactly as docs/qa.md prints it, pointed at ``out_dir``."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "qa.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if 'cast_column("images"' in b]
    assert len(blocks) == 1, "docs/qa.md must hold one TRL loading recipe"
    lines = [x for x in blocks[0].strip().splitlines() if not x.startswith(("from ", "import "))]
    assert len(lines) == 3, lines
    return blocks[0].replace("DIR", str(out_dir))


def test_trl_recipe_runs_in_grpo_and_sft_trainers(qa_dir, tmp_path):
    """The docs' 3-line recipe gives a dataset TRL's GRPOTrainer trains on, and the prompt TRL
    renders through the chat template is byte-identical to the one eval-qa sends; with --sft it
    feeds SFTTrainer."""
    pytest.importorskip("trl")
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from trl import GRPOConfig, GRPOTrainer

    from robotr1_train.data import prompt_text
    from robotr1_train.models import load_model_and_processor
    from robotr1_train.testing import build_tiny_vlm

    recs = {r["id"]: r for r in store.read_records(qa_dir)}
    out = tmp_path / "trl"
    export.export_qa(str(qa_dir), "trl", str(out), log=lambda *a: None)
    scope = {}
    exec(_docs_trl_recipe(out), scope)
    ds = scope["ds"]
    import datasets

    assert ds.features["images"] == datasets.Sequence(datasets.Image())
    assert {"prompt", "images", "answer", "type", "id"} <= set(ds.column_names)
    assert ds[0]["images"][0].size == (56, 40)  # PIL (W, H): the stored size

    lp = load_model_and_processor(build_tiny_vlm(tmp_path / "tiny", 0), dtype="fp32", device="cpu",
                                  gradient_checkpointing=False)
    rendered = {}

    def reward(prompts, completions, answer, id, **kw):
        for p, qid in zip(prompts, id):
            rendered[qid] = lp.processor.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
        return [rewards.reward(c[0]["content"] if isinstance(c, list) else c, {"answer": a})["total"]
                for c, a in zip(completions, answer)]

    args = GRPOConfig(output_dir=str(tmp_path / "run"), max_steps=1, per_device_train_batch_size=2,
                      num_generations=2, max_completion_length=4, report_to=[], use_cpu=True, bf16=False,
                      save_strategy="no", logging_steps=1)
    trainer = GRPOTrainer(model=lp.model, reward_funcs=reward, args=args, train_dataset=ds.select(range(4)),
                          processing_class=lp.processor)
    trainer.train()
    assert rendered
    for qid, text in rendered.items():
        assert text == prompt_text(lp.processor, recs[qid])

    # with --sft the same recipe feeds SFTTrainer (prompt + completion)
    from trl import SFTConfig, SFTTrainer

    export.export_qa(str(qa_dir), "trl", str(tmp_path / "sft"), sft="cot", log=lambda *a: None)
    scope = {}
    exec(_docs_trl_recipe(tmp_path / "sft"), scope)
    sft = SFTTrainer(model=lp.model, train_dataset=scope["ds"].select(range(2)), processing_class=lp.processor,
                     args=SFTConfig(output_dir=str(tmp_path / "sft_run"), max_steps=1, per_device_train_batch_size=2,
                                    report_to=[], use_cpu=True, bf16=False, save_strategy="no", max_length=None))
    loss = sft.train().training_loss
    assert loss == loss and loss > 0


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


def test_easyr1_reward_file_needs_only_robotr1_and_the_stdlib(qa_dir, tmp_path):
    """reward.py runs in EasyR1's environment: with robotr1 importable and nothing else (python -S,
    no site-packages) it scores; without robotr1 it fails with the install line."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    export.export_qa(str(qa_dir), "easyr1", str(tmp_path), log=lambda *a: None)
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('custom_reward_fn', sys.argv[1]);"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m);"
            "print(m.REWARD_TYPE, m.compute_score([{'response': '<think>a</think><answer> [[B]] </answer>',"
            " 'response_length': 9, 'ground_truth': 'B'}])[0]['overall'])")
    repo = str(Path(__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ok = subprocess.run([sys.executable, "-S", "-c", code, str(tmp_path / "reward.py")], capture_output=True,
                        text=True, env=dict(env, PYTHONPATH=repo), cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.split() == ["batch", "2.0"], ok.stderr
    bad = subprocess.run([sys.executable, "-S", "-c", code, str(tmp_path / "reward.py")], capture_output=True,
                         text=True, env=env, cwd=tmp_path)
    assert bad.returncode != 0 and "pip install --no-deps" in bad.stderr
