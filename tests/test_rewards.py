"""robotr1_train.rewards: format / MCQA / open-ended / combined, on crafted completions."""

import subprocess
import sys
import time

import pytest

from robotr1_train import rewards as R

GOOD = "<think>The cup is left of the gripper.</think>\n<answer> [[B]] </answer>"
MC = {"id": "q", "type": "waypoint", "answer": "B", "target": [0.3, 0.1, 0.9]}
OPEN = {"id": "o", "type": "waypoint_open", "answer": "[0.300, 0.100, 0.900]", "target": [0.3, 0.1, 0.9]}

# (completion, format, accuracy against MC)
TABLE = [
    (GOOD, 1.0, 1.0),
    ("<think>\n...\n</think>\n<answer>[[B]]</answer>\n", 1.0, 1.0),
    ("<think>x</think><answer> B </answer>", 1.0, 1.0),  # bare letter accepted
    ("<think>x</think><answer> [[C]] </answer>", 1.0, 0.0),  # wrong letter
    ("<think>x</think><answer> [[b]] </answer>", 1.0, 0.0),  # letters are upper case
    ("<think>x</think><answer> [[E]] </answer>", 1.0, 0.0),  # not a choice
    ("<think>x</think><answer> [[A]] [[B]] </answer>", 1.0, 0.0),  # two choices in one answer
    ("<think>x</think><answer>[[B]]</answer><answer>[[B]]</answer>", 0.0, 0.0),  # two answers
    ("<think>x</think><answer>[[B]]</answer><answer>[[A]]</answer>", 0.0, 0.0),
    ("<answer> [[B]] </answer>", 0.0, 1.0),  # direct answer: accuracy without format
    ("<think>x</think> [[B]]", 0.0, 0.0),  # missing answer tags
    ("<think>x <answer> [[B]] </answer>", 0.0, 1.0),  # unclosed think
    ("<think>x</think><answer> [[B]]", 0.0, 0.0),  # unclosed answer
    ("<answer> [[B]] </answer><think>x</think>", 0.0, 1.0),  # wrong order
    ("preamble <think>x</think><answer>[[B]]</answer>", 0.0, 1.0),  # text outside the tags
    ("<think>x</think><answer>[[B]]</answer> trailing", 0.0, 1.0),
    ("<think>x</think><answer>   </answer>", 0.0, 0.0),  # empty answer
    ("<think>x</think><think>y</think><answer>[[B]]</answer>", 0.0, 1.0),
    ("<think>ｘ</think><answer> [[Ｂ]] </answer>", 1.0, 0.0),  # full-width letter
    ("＜think＞x＜/think＞＜answer＞[[B]]＜/answer＞", 0.0, 0.0),  # look-alike brackets
    ("<think>🤖 думаю 思考</think><answer>\u200b[[B]]\u200b</answer>", 1.0, 0.0),  # zero-width spaces
    ("<think>x</think><answer>[[B]]</answer>\x00", 0.0, 1.0),
    ("", 0.0, 0.0),
    ("   ", 0.0, 0.0),
    ("[[B]]", 0.0, 0.0),
    ("<" * 5000 + "answer>" * 5000, 0.0, 0.0),
]


@pytest.mark.parametrize("text,fmt,acc", TABLE)
def test_reward_table(text, fmt, acc):
    assert R.format_reward(text) == fmt
    assert R.mcqa_reward(text, "B") == acc
    out = R.reward(text, MC)
    assert out == {"total": fmt + acc, "format": fmt, "accuracy": acc}


@pytest.mark.parametrize("bad", [None, 123, b"<answer>[[B]]</answer>", ["x"], {"a": 1}, 3.5, object()])
def test_non_strings_score_zero(bad):
    assert R.format_reward(bad) == 0.0
    assert R.mcqa_reward(bad, "B") == 0.0
    assert R.open_reward(bad, [0, 0, 0]) == 0.0
    assert R.parse_answer(bad) is None
    assert R.reward(bad, MC) == {"total": 0.0, "format": 0.0, "accuracy": 0.0}


def test_answer_letter_forms():
    assert R.mcqa_reward(GOOD, "[[B]]") == 1.0
    assert R.mcqa_reward(GOOD, "B") == 1.0
    assert R.mcqa_reward(GOOD, None) == 0.0
    assert R.mcqa_reward(GOOD, "Z") == 0.0


def test_huge_completions_are_fast_and_zero():
    huge = "<think>" + "a" * (10 * 1024 * 1024) + "</think><answer> [[B]] </answer>"
    adversarial = ["<think>" * 2_000_000, "[[" * 3_000_000 + "<answer>", "1," * 5_000_000,
                   "<answer>" + "0" * 10_000_000 + "</answer>"]
    t0 = time.perf_counter()
    for text in [huge] + adversarial:
        assert R.reward(text, MC)["total"] == 0.0
        assert R.reward(text, OPEN)["total"] == 0.0
        assert R.parse_answer(text) is None
    assert time.perf_counter() - t0 < 2.0


def test_adversarial_answer_content_is_fast():
    # Long but under the cap: regexes only ever see <= MAX_ANSWER_CHARS characters.
    evil = "<think>x</think><answer>" + "1" * 200 + "," * 50 + "</answer>"
    evil2 = "<think>x</think><answer>[" + "1." * 120 + "]</answer>"
    t0 = time.perf_counter()
    for _ in range(200):
        assert R.open_reward(evil, [0, 0, 0]) == 0.0
        assert R.open_reward(evil2, [0, 0, 0]) == 0.0
    assert time.perf_counter() - t0 < 1.0


OPEN_TABLE = [
    ("<think>x</think><answer> [0.300, 0.100, 0.900] </answer>", 1.0, 1.0),
    ("<think>x</think><answer>[0.3,0.1,0.9]</answer>", 1.0, 1.0),
    ("<think>x</think><answer> 0.3, 0.1, 0.9 </answer>", 1.0, 1.0),
    ("<think>x</think><answer> [0.400, 0.000, 0.800] </answer>", 1.0, 0.7),
    ("<think>x</think><answer> [2.3, 0.1, 0.9] </answer>", 1.0, 0.0),  # clipped at 0
    ("<think>x</think><answer> [0.3, 0.1] </answer>", 1.0, 0.0),
    ("<think>x</think><answer> [nan, inf, 1] </answer>", 1.0, 0.0),
    ("<think>x</think><answer> [1e400, 0, 0] </answer>", 1.0, 0.0),
    ("<think>x</think><answer> [٠.٣, ٠.١, ٠.٩] </answer>", 1.0, 0.0),  # Arabic-Indic digits
    ("<think>x</think><answer> [[A]] </answer>", 1.0, 0.0),
    ("<answer>[0.3, 0.1, 0.9]</answer>", 0.0, 1.0),
]


@pytest.mark.parametrize("text,fmt,acc", OPEN_TABLE)
def test_open_reward_table(text, fmt, acc):
    assert R.open_reward(text, OPEN["target"]) == pytest.approx(acc)
    out = R.reward(text, OPEN)
    assert out["format"] == fmt
    assert out["accuracy"] == pytest.approx(acc) and out["total"] == pytest.approx(fmt + acc)


def test_open_reward_target_as_text_and_inferred_type():
    text = "<think>x</think><answer> [0.3, 0.1, 0.9] </answer>"
    assert R.open_reward(text, "[0.3, 0.1, 0.9]") == 1.0
    # EasyR1 hands the reward only the ground-truth string: the type is inferred from its shape.
    assert R.reward(text, {"answer": "[0.300, 0.100, 0.900]"})["accuracy"] == 1.0
    assert R.reward(GOOD, {"answer": "B"})["total"] == 2.0


def test_bad_record_is_a_loud_data_error():
    with pytest.raises(ValueError):
        R.reward(GOOD, {"type": "nonsense", "answer": "B"})
    with pytest.raises(ValueError):
        R.reward(GOOD, {"answer": None})


def test_parse_answer():
    assert R.parse_answer(GOOD) == "[[B]]"
    assert R.parse_answer("<answer>a</answer><answer>b</answer>") is None
    assert R.parse_answer("</answer><answer>") is None


def test_rewards_import_without_torch():
    code = ("import sys; import robotr1_train.rewards; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sft_targets_are_rewarded():
    from robotr1_data.qa import sft

    cot = sft.cot_target("pick up the cup", ["move to [0.1, 0.2, 0.3]"], 0, "move up",
                         [0.1, 0.2, 0.2], [0.1, 0.2, 0.3], "[[B]]")
    assert R.reward(cot, MC) == {"total": 2.0, "format": 1.0, "accuracy": 1.0}
    assert R.reward(sft.direct_target("[[B]]"), MC)["accuracy"] == 1.0
    answer = sft.answer_only_target(sft.direct_target("[[B]]"))
    assert answer == "<answer> [[B]] </answer>"
    assert R.reward(answer, MC) == {"total": 1.0, "format": 0.0, "accuracy": 1.0}  # no <think>: no format


def test_record_target_reads_stored_targets_and_makes_answer():
    from robotr1_data.qa import sft

    rec = {"id": "q1", "sft_direct": sft.direct_target("[[C]]"), "sft_cot": "<think>\nplan\n</think>\n"
           "<answer> [[C]] </answer>"}
    assert sft.record_target(rec, "direct") == rec["sft_direct"]
    assert sft.record_target(rec, "cot") == rec["sft_cot"]
    assert sft.record_target(rec, "answer") == "<answer> [[C]] </answer>"
    with pytest.raises(ValueError, match="q2 has no 'sft_direct'"):
        sft.record_target({"id": "q2"}, "answer")
    with pytest.raises(ValueError, match="not a direct target"):
        sft.record_target({"id": "q3", "sft_direct": "<answer> [[C]] </answer>"}, "answer")


def test_compute_score_is_easyr1s_batch_contract_over_reward():
    """EasyR1 calls the batch reward with [{"response", "response_length", "ground_truth"}] and reads
    "overall" (the rest is logged): one output per input, in order, equal to reward()."""
    cases = [
        ("<think>x</think><answer> [[B]] </answer>", "B"),
        ("<answer> B </answer>", "B"),
        ("<think>x</think><answer> [[C]] </answer>", "B"),
        ("<think>x</think><answer> [0.30, 0.10, 1.00] </answer>", "[0.265, 0.112, 1.154]"),
        ("garbage", "A"),
        (None, "D"),
        ("", "[0.1, 0.2, 0.3]"),
    ]
    inputs = [{"response": t, "response_length": len(t or ""), "ground_truth": g} for t, g in cases]
    got = R.compute_score(inputs)
    assert len(got) == len(cases)
    for (text, gt), score in zip(cases, got):
        want = R.reward(text, {"answer": gt})
        assert score == {"overall": want["total"], "format": want["format"], "accuracy": want["accuracy"]}
        assert all(isinstance(v, float) for v in score.values())
    assert [s["overall"] for s in got[:3]] == [2.0, 1.0, 1.0]
    assert got[3]["accuracy"] == pytest.approx(1 - (0.035 + 0.012 + 0.154))
    assert R.compute_score([]) == []
    with pytest.raises(TypeError):  # EasyR1's format_weight kwarg would change R: refused, not ignored
        R.compute_score(inputs, format_weight=0.5)
