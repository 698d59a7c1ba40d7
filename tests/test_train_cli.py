"""``robotr1-train`` end to end on the tiny model, and bad input -> one line, exit code 2."""

import json
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from robotr1_train.cli import main  # noqa: E402
from robotr1_train.testing import build_tiny_vlm, synthetic_image_loader, synthetic_records  # noqa: E402

pytestmark = pytest.mark.train
torch.set_num_threads(1)

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "robot_r1.yaml")
SMALL = ["--rollout-batch-size", "2", "--global-batch-size", "2", "--num-generations", "2",
         "--max-response-length", "4", "--micro-batch-size", "4", "--progress-bar", "false",
         "--report-to", "none", "--log-completions", "false", "--save-steps", "1"]


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny_vlm"), seed=0)


@pytest.fixture
def qa_dir(tmp_path, monkeypatch):
    d = tmp_path / "qa"
    d.mkdir()
    with open(d / "questions.jsonl", "w") as f:
        for r in synthetic_records(4, images_per_prompt=1):
            f.write(json.dumps(r) + "\n")
    import robotr1_train.data as data

    monkeypatch.setattr(data, "default_image_loader", synthetic_image_loader)
    return str(d)


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("robotr1-train: error: "), err
    for n in needles:
        assert n in err[0], err[0]
    return err[0]


def test_grpo_cli_runs_checkpoints_and_resumes(tiny_path, qa_dir, tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["grpo", "--qa", qa_dir, "--model", tiny_path, "--out", out, "--config", CONFIG, *SMALL,
            "--set", "learning_rate=1e-3", "--max-steps", "2"]
    assert main(args) == 0
    rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    steps = [r["step"] for r in rows if "reward" in r]
    assert steps == [1, 2]
    assert {"rewards/format/mean", "rewards/accuracy/mean", "kl"} <= set(rows[0])
    assert any(k.startswith("accuracy/") for k in rows[0])
    cfg = open(os.path.join(out, "config.yaml")).read()
    assert "learning_rate: 0.001" in cfg and "kl_coef: 0.01" in cfg and "beta: 0.01" in cfg
    # eval-qa and vlm:RUN_DIR find the model where they look for it
    from robotr1_train.policies.vlm import resolve_checkpoint

    assert resolve_checkpoint(out) == os.path.join(out, "final")
    assert os.path.isfile(os.path.join(out, "final", "config.json"))
    assert os.path.isfile(os.path.join(out, "checkpoint-2", "robotr1_complete.json"))
    capsys.readouterr()
    # a second run into the same directory must say --resume
    assert main(args) == 2
    one_line_error(capsys, "--resume")
    assert main(args[:-1] + ["3", "--resume"]) == 0
    rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    assert [r["step"] for r in rows if "reward" in r] == [1, 2, 3]


def test_sft_cli_with_lora(tiny_path, qa_dir, tmp_path):
    out = str(tmp_path / "sft")
    assert main(["sft", "--qa", qa_dir, "--model", tiny_path, "--out", out, "--target", "cot", "--lora",
                 "--max-steps", "1", "--global-batch-size", "2", "--progress-bar", "false",
                 "--report-to", "none", "--set", "learning_rate=1e-3", "--set", "epochs=8"]) == 0
    assert os.path.isfile(os.path.join(out, "final", "adapter_config.json"))
    text = open(os.path.join(out, "config.yaml")).read()
    assert "target: cot" in text and "completion_only_loss: true" in text


def test_make_tiny_model_cli(tmp_path, capsys):
    assert main(["make-tiny-model", "--out", str(tmp_path / "m"), "--seed", "3"]) == 0
    assert os.path.isfile(tmp_path / "m" / "config.json")
    assert json.loads((tmp_path / "m" / "robotr1_tiny.json").read_text())["seed"] == 3  # --seed is stored


def test_make_tiny_model_with_a_tokenizer_trained_on_the_questions(qa_dir, tiny_path, tmp_path, capsys):
    from transformers import AutoConfig, AutoTokenizer

    out = tmp_path / "m"
    assert main(["make-tiny-model", "--out", str(out), "--tokenizer-qa", qa_dir, "--vocab-size", "600",
                 "--hidden-size", "32", "--layers", "1"]) == 0
    tok, base = AutoTokenizer.from_pretrained(out), AutoTokenizer.from_pretrained(tiny_path)
    prompt = json.loads(open(os.path.join(qa_dir, "questions.jsonl")).readline())["prompt"]
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    assert len(ids) < len(base(prompt, add_special_tokens=False)["input_ids"]) / 2  # fixed text merged
    assert tok.decode(ids) == prompt  # lossless
    pieces = tok.convert_ids_to_tokens(tok("[0.123, 1.000]", add_special_tokens=False)["input_ids"])
    assert [p for p in pieces if any(c.isdigit() for c in p)] == list("0123" "1000")  # digit by digit
    cfg = AutoConfig.from_pretrained(out)
    assert (cfg.text_config.hidden_size, cfg.text_config.num_hidden_layers) == (32, 1)
    assert cfg.text_config.vocab_size == len(tok) <= 600
    stamp = json.loads((out / "robotr1_tiny.json").read_text())
    assert stamp["vocab_size"] == 600 and "corpus_sha256" in stamp
    # other questions, another tokenizer: the cached model is rebuilt, not reused
    with open(os.path.join(qa_dir, "questions.jsonl"), "a") as f:
        f.write(json.dumps(dict(json.loads(open(os.path.join(qa_dir, "questions.jsonl")).readline()),
                                prompt="An entirely different sentence repeated. " * 20)) + "\n")
    assert main(["make-tiny-model", "--out", str(out), "--tokenizer-qa", qa_dir, "--vocab-size", "600",
                 "--hidden-size", "32", "--layers", "1"]) == 0
    assert json.loads((out / "robotr1_tiny.json").read_text())["corpus_sha256"] != stamp["corpus_sha256"]
    capsys.readouterr()
    assert main(["make-tiny-model", "--out", str(tmp_path / "n"), "--tokenizer-qa", str(tmp_path)]) == 2
    one_line_error(capsys, "--tokenizer-qa", "questions.jsonl")
    assert main(["make-tiny-model", "--out", str(tmp_path / "n"), "--hidden-size", "40"]) == 2
    one_line_error(capsys, "--hidden-size", "multiple of 16")


def test_missing_qa(tiny_path, tmp_path, capsys):
    assert main(["grpo", "--qa", str(tmp_path / "nope"), "--model", tiny_path, "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "does not exist")
    (tmp_path / "empty").mkdir()
    assert main(["grpo", "--qa", str(tmp_path / "empty"), "--model", tiny_path, "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "questions.jsonl")


def test_model_that_is_not_a_vlm(qa_dir, tmp_path, capsys):
    from transformers import Qwen2Config

    text_only = tmp_path / "text_only"
    Qwen2Config(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                num_key_value_heads=1, vocab_size=32).save_pretrained(text_only)
    assert main(["grpo", "--qa", qa_dir, "--model", str(text_only), "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "not a vision-language model")
    assert main(["grpo", "--qa", qa_dir, "--model", str(tmp_path / "missing_dir"), "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "neither a directory nor a hub id")
    (tmp_path / "no_config").mkdir()
    assert main(["grpo", "--qa", qa_dir, "--model", str(tmp_path / "no_config"), "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "no config.json")


def test_unknown_config_key_and_bad_values(tiny_path, qa_dir, tmp_path, capsys):
    base = ["grpo", "--qa", qa_dir, "--model", tiny_path, "--out", str(tmp_path / "o")]
    assert main(base + ["--set", "num_generation=3"]) == 2
    one_line_error(capsys, "unknown config key 'num_generation'", "did you mean 'num_generations'")
    assert main(base + ["--set", "question_types=waypont"]) == 2
    one_line_error(capsys, "waypont")
    bad = tmp_path / "bad.yaml"
    bad.write_text("grpo:\n  klcoef: 0.1\n")
    assert main(base + ["--config", str(bad)]) == 2
    one_line_error(capsys, "did you mean 'kl_coef'")
    assert main(["sft", "--qa", qa_dir, "--model", tiny_path, "--out", str(tmp_path / "s"),
                 "--set", "target=cott"]) == 2
    one_line_error(capsys, "target")


@pytest.mark.parametrize("flags, needle", [
    (["--learning-rate", "nan"], "--learning-rate must be a finite number"),
    (["--temperature", "nan"], "--temperature must be a finite number"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--set", "kl_coef=-1"], "--kl-coef (--set kl_coef) must be at least 0"),
    (["--set", "learning_rate=nan"], "(--set learning_rate) must be a finite number"),
    (["--set", "epochs=two"], "--set epochs takes a whole number"),
    (["--progress-bar", "maybe"], "--progress-bar: takes true or false"),
    (["--num-generations", "1"], "--num-generations must be at least 2"),
    (["--set", "advantage_estimator=reinforce_pp"], "EasyR1"),
])
def test_bad_numbers_one_line(tiny_path, qa_dir, tmp_path, capsys, flags, needle):
    assert main(["grpo", "--qa", qa_dir, "--model", tiny_path, "--out", str(tmp_path / "o"), *flags]) == 2
    one_line_error(capsys, needle)


def test_binary_questions_file(tiny_path, tmp_path, capsys):
    qa = tmp_path / "qa"
    qa.mkdir()
    (qa / "questions.jsonl").write_bytes(bytes(range(256)) * 8)
    assert main(["grpo", "--qa", str(qa), "--model", tiny_path, "--out", str(tmp_path / "o")]) == 2
    one_line_error(capsys, "questions.jsonl")


def test_use_vllm_without_cuda_or_vllm(tiny_path, qa_dir, tmp_path, capsys):
    assert main(["grpo", "--qa", qa_dir, "--model", tiny_path, "--out", str(tmp_path / "o"), "--use-vllm"]) == 2
    one_line_error(capsys, "--use-vllm")
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_use_vllm_with_cuda_but_no_vllm(tiny_path, qa_dir, tmp_path, capsys, monkeypatch):
    import importlib.util

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "vllm" else real(n, *a))
    assert main(["grpo", "--qa", qa_dir, "--model", tiny_path, "--out", str(tmp_path / "o"), "--use-vllm"]) == 2
    one_line_error(capsys, "robotr1[vllm]")


def test_prompt_longer_than_max_prompt_length(tiny_path, qa_dir, tmp_path, capsys):
    assert main(["grpo", "--qa", qa_dir, "--model", tiny_path, "--out", str(tmp_path / "o"),
                 "--max-prompt-length", "8", *SMALL]) == 2
    one_line_error(capsys, "max_prompt_length")
