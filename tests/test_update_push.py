"""bench/update_push.py: the expected GRPO and SFT pushes against hand-computed values, and the
batched teacher-forced answer scores against one-sequence-at-a-time scoring on the tiny VLM."""

import importlib.util
import os

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "bench", "update_push.py")


def load():
    spec = importlib.util.spec_from_file_location("bench_update_push", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_grpo_push_matches_the_hand_computed_expectation():
    up = load()
    # Uniform policy, G = 2, T = 1, right answer A. Only the 6 of 16 outcomes with exactly one right
    # sample carry an advantage, +-0.5 / (std 0.7071 + 1e-4) each; summed and divided by G * T.
    a = 0.5 / (np.sqrt(0.5) + 1e-4)
    want = a / 16 * np.array([3.0, -1.0, -1.0, -1.0])
    np.testing.assert_allclose(up.grpo_push(np.zeros(4), 0, 1.0, 2), want, rtol=1e-9)
    # Temperature divides the log-prob gradient: the same uniform policy at T = 2 pushes half as far.
    np.testing.assert_allclose(up.grpo_push(np.zeros(4), 0, 2.0, 2), want / 2, rtol=1e-9)
    np.testing.assert_allclose(up.sft_push(np.zeros(4), 2), [-0.25, -0.25, 0.75, -0.25])
    # A policy sure of its answer samples it every time: no advantage, no push (SFT's is ~0 too).
    sure = np.array([0.0, -60.0, -60.0, -60.0])
    assert np.abs(up.grpo_push(sure, 0, 1.0, 5)).max() < 1e-12
    assert np.abs(up.grpo_push(sure, 1, 1.0, 5)).max() < 1e-12  # sure and wrong: no signal either
    assert np.abs(up.sft_push(sure, 1)).max() > 0.99  # SFT pushes hardest exactly there
    with pytest.raises(ValueError):
        up.grpo_push(np.zeros(4), 0, 1.0, 7)


def test_shares_count_the_push_on_the_greedy_wrong_questions():
    up = load()
    rows = [{"scores": [0.0, -60.0, -60.0, -60.0], "correct": 0},   # sure and right
            {"scores": [-1.0, 0.0, -1.0, -1.0], "correct": 0},      # wrong when greedy
            {"scores": [0.0, -0.5, -3.0, -3.0], "correct": 0}]      # right, not sure
    res = up.shares(rows, [1.0], 3)
    assert res["greedy_accuracy"] == round(2 / 3, 4)
    sft = [np.linalg.norm(up.sft_push(np.array(r["scores"]), r["correct"])) for r in rows]
    assert res["share_on_wrong"]["sft"] == round(sft[1] / sum(sft), 4)
    grpo = [np.linalg.norm(up.grpo_push(np.array(r["scores"]), r["correct"], 1.0, 3)) for r in rows]
    assert res["share_on_wrong"]["grpo T=1 G=3"] == round(grpo[1] / sum(grpo), 4)
    assert 0 < res["share_on_wrong"]["grpo T=1 G=3"] < res["share_on_wrong"]["sft"] < 1


def test_batched_answer_scores_equal_one_sequence_at_a_time(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from robotr1_train.data import prompt_messages, record_images
    from robotr1_train.engines.hf import HFEngine
    from robotr1_train.testing import build_tiny_vlm, synthetic_image_loader, synthetic_records

    up = load()
    engine = HFEngine.from_checkpoint(build_tiny_vlm(tmp_path / "tiny", seed=0), device="cpu")
    recs = synthetic_records(3)
    recs[1]["sft_direct"] = "<think> a longer answer here </think> <answer> [[" + recs[1]["answer"] + "]] </answer>"
    rows = up.answer_scores(engine, recs, None, batch_size=3, image_loader=synthetic_image_loader)
    tok = engine.tokenizer
    for r, row in zip(recs, rows):
        assert row["correct"] == "ABCD".index(r["answer"])
        for k, letter in enumerate("ABCD"):
            text = r["sft_direct"].replace(f"[[{r['answer']}]]", f"[[{letter}]]")
            target = tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            batch = engine.encode([(prompt_messages(r), record_images(r, None, synthetic_image_loader))])
            n = batch["input_ids"].shape[1]
            batch["input_ids"] = torch.cat([batch["input_ids"], torch.tensor([target])], 1)
            batch["attention_mask"] = torch.ones_like(batch["input_ids"])
            mm = batch["mm_token_type_ids"]
            batch["mm_token_type_ids"] = torch.cat([mm, torch.zeros(1, len(target), dtype=mm.dtype)], 1)
            with torch.no_grad():
                logits = engine.model(**batch).logits[0, n - 1:-1].float()
            want = torch.log_softmax(logits, -1)[torch.arange(len(target)), torch.tensor(target)].sum().item()
            assert row["scores"][k] == pytest.approx(want, abs=2e-4)


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    pytest.importorskip("torch")
    up = load()
    assert up.main(["--qa", str(tmp_path / "missing"), "--model", "x"]) == 2
    assert up.main(["--qa", str(tmp_path), "--model", "x", "--generations", "7"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
