"""GRPO maths on hand-computed examples, config loading and overrides (no model)."""

import math

import pytest

torch = pytest.importorskip("torch")

from robotr1_data.errors import UsageError  # noqa: E402
from robotr1_train import advantages as A  # noqa: E402
from robotr1_train.config import GRPOConfig, SFTConfig, build_config, parse_set  # noqa: E402

pytestmark = pytest.mark.train
torch.set_num_threads(1)


def approx(t, values, tol=1e-5):
    return torch.allclose(torch.as_tensor(t, dtype=torch.float32), torch.tensor(values, dtype=torch.float32),
                          atol=tol)


def test_grpo_advantages_hand_computed():
    r = torch.tensor([1.0, 0.0, 0.5, 0.5])
    # group 1: mean 0.5, unbiased std sqrt(0.5); group 2: constant -> 0
    s = 0.5 / math.sqrt(0.5)
    assert approx(A.grpo_advantages(r, 2), [s, -s, 0.0, 0.0], 1e-4)
    assert approx(A.grpo_advantages(r, 2, std_normalize=False), [0.5, -0.5, 0.0, 0.0])
    r3 = torch.tensor([1.0, 2.0, 3.0])  # mean 2, unbiased std 1
    assert approx(A.grpo_advantages(r3, 3), [-1.0, 0.0, 1.0], 1e-4)


def test_rloo_and_reinforce_pp_hand_computed():
    assert approx(A.rloo_advantages(torch.tensor([1.0, 0.0, 3.0, 1.0]), 2), [1.0, -1.0, 2.0, -2.0])
    assert approx(A.rloo_advantages(torch.tensor([1.0, 2.0, 3.0]), 3), [-1.5, 0.0, 1.5])
    # REINFORCE++: whitened over the whole batch, groups ignored
    assert approx(A.reinforce_pp_advantages(torch.tensor([1.0, 2.0, 3.0])), [-1.0, 0.0, 1.0], 1e-4)
    assert approx(A.compute_advantages(torch.tensor([1.0, 2.0, 3.0]), 3, "reinforce_pp"), [-1.0, 0.0, 1.0], 1e-4)
    with pytest.raises(ValueError):
        A.rloo_advantages(torch.tensor([1.0]), 1)
    with pytest.raises(ValueError):
        A.grpo_advantages(torch.tensor([1.0, 2.0, 3.0]), 2)


def test_clipped_policy_loss_hand_computed():
    old = torch.zeros(1, 4)
    logp = torch.log(torch.tensor([[1.5, 1.5, 0.5, 0.5]]))
    adv = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
    loss, clipped, ratio = A.clipped_policy_loss(logp, old, adv, 0.2)
    # ratio 1.5, A=+1: max(-1.5, -1.2) = -1.2 (clipped); A=-1: max(1.5, 1.2) = 1.5
    # ratio 0.5, A=+1: max(-0.5, -0.8) = -0.5;           A=-1: max(0.5, 0.8) = 0.8 (clipped)
    assert approx(loss, [[-1.2, 1.5, -0.5, 0.8]])
    assert approx(clipped, [[1.0, 0.0, 0.0, 1.0]])
    assert approx(ratio, [[1.5, 1.5, 0.5, 0.5]])
    # asymmetric clip (clip-higher): upper bound 1.3
    loss, _, _ = A.clipped_policy_loss(logp[:, :1], old[:, :1], torch.tensor([1.0]), 0.2, 0.3)
    assert approx(loss, [[-1.3]])


def test_kl_estimators():
    x = torch.tensor([[-1.0, -2.5, -0.1]])
    for est in ("low_var_kl", "k1", "k2"):
        assert torch.equal(A.kl_penalty(x, x, est), torch.zeros_like(x))
    logp = torch.tensor([0.0])
    ref = torch.log(torch.tensor([2.0]))  # d = ref - logp = log 2
    assert approx(A.kl_penalty(logp, ref, "low_var_kl"), [2.0 - math.log(2.0) - 1.0])
    assert approx(A.kl_penalty(logp, ref, "k1"), [-math.log(2.0)])
    assert approx(A.kl_penalty(logp, ref, "k2"), [0.5 * math.log(2.0) ** 2])
    assert float(A.kl_penalty(torch.tensor([0.0]), torch.tensor([100.0]))) == 10.0  # clamped like EasyR1


def test_aggregate_modes():
    v = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    m = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    assert approx(A.aggregate(v, m, "token_mean"), [10.0 / 4])
    assert approx(A.aggregate(v, m, "seq_mean_token_mean"), [(2.0 + 4.0) / 2])
    assert approx(A.aggregate(v, m, "token_mean", normalizer=8.0), [10.0 / 8])


def test_chunked_logprobs_equal_unchunked_with_grads():
    from robotr1_train.logprobs import chunked_token_logprobs

    g = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(8, 50, bias=False)
    h = torch.randn(2, 7, 8, generator=g, requires_grad=True)
    t = torch.randint(0, 50, (2, 7), generator=g)
    ref = torch.log_softmax(head(h) / 0.7, -1).gather(-1, t.unsqueeze(-1)).squeeze(-1)
    out = chunked_token_logprobs(h, head, t, temperature=0.7, chunk_size=3)
    assert torch.allclose(out, ref, atol=1e-6)
    gh_ref, gw_ref = torch.autograd.grad(ref.sum(), [h, head.weight])
    gh, gw = torch.autograd.grad(out.sum(), [h, head.weight])
    assert torch.allclose(gh, gh_ref, atol=1e-6) and torch.allclose(gw, gw_ref, atol=1e-6)
    # suppressed ids leave the softmax
    sup = chunked_token_logprobs(h, head, t, chunk_size=4, suppress_ids=[0, 1])
    logits = head(h).detach()
    logits[..., [0, 1]] = float("-inf")
    want = torch.log_softmax(logits, -1).gather(-1, t.unsqueeze(-1)).squeeze(-1)
    ok = (t >= 2)
    assert torch.allclose(sup.detach()[ok], want[ok], atol=1e-6)


def test_config_defaults_are_the_paper():
    c = GRPOConfig()
    assert (c.num_generations, c.temperature, c.learning_rate, c.weight_decay) == (5, 1.0, 1e-6, 1e-2)
    assert (c.kl_coef, c.kl_estimator, c.clip_ratio) == (1e-2, "low_var_kl", 0.2)
    assert (c.max_prompt_length, c.max_response_length, c.epochs) == (2048, 2048, 5)
    assert (c.rollout_batch_size, c.global_batch_size) == (512, 128)
    assert SFTConfig().learning_rate == 1e-5


def test_shipped_yaml_matches_defaults_and_overrides_win(tmp_path):
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "configs", "robot_r1.yaml")
    c = build_config(GRPOConfig, path, "grpo", {})
    d = GRPOConfig()
    for k in ("num_generations", "temperature", "learning_rate", "weight_decay", "kl_coef", "kl_estimator",
              "clip_ratio", "max_prompt_length", "max_response_length", "epochs"):
        assert getattr(c, k) == getattr(d, k), k
    c = build_config(GRPOConfig, path, "grpo", parse_set(["kl_coef=0", "lora=true", "question_types=waypoint,current"]))
    assert c.kl_coef == 0.0 and c.lora is True and c.question_types == ["waypoint", "current"]
    s = build_config(SFTConfig, path, "sft", {"target": "cot"})
    assert s.target == "cot" and s.learning_rate == 1e-5


def test_config_errors_tell_the_fix(tmp_path):
    with pytest.raises(UsageError, match="did you mean 'kl_coef'"):
        build_config(GRPOConfig, None, "grpo", {"kl_coeff": "0.1"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("grpo:\n  num_generation: 4\n")
    with pytest.raises(UsageError, match="num_generations"):
        build_config(GRPOConfig, str(bad), "grpo", {})
    with pytest.raises(UsageError, match="needs an integer"):
        build_config(GRPOConfig, None, "grpo", {"num_generations": "many"})
    with pytest.raises(UsageError, match="advantage_estimator"):
        build_config(GRPOConfig, None, "grpo", {"advantage_estimator": "rlo"})
    with pytest.raises(UsageError, match="not found"):
        build_config(GRPOConfig, str(tmp_path / "nope.yaml"), "grpo", {})
    with pytest.raises(UsageError, match="key=value"):
        parse_set(["kl_coef"])
