"""Generation engines: one interface over HF ``generate`` and vLLM, with the same prompts.

    from robotr1_train.engines import make_engine
    from robotr1_train.data import prompt_messages

    engine = make_engine("hf" | "vllm" | "auto", "runs/grpo1", device=None, dtype="auto")
    texts = engine.generate([(prompt_messages(record), [image]), ...],
                            max_new_tokens=256, temperature=0.0, seed=0)

- ``make_engine(name, model_path, **options) -> Engine``; ``model_path`` is a ``robotr1-train``
  run directory (its ``final/``), a ``save_pretrained`` model directory or a LoRA adapter
  directory (``resolve_checkpoint``). ``"auto"`` is vLLM when it can run here, else HF.
- ``Engine.generate(requests, max_new_tokens, temperature=0.0, seed=0) -> list[str]``: one
  completion per request, in order. A request is ``(messages, images)``: chat messages whose user
  content holds ``{"type": "image"}`` placeholders (``robotr1_train.data.prompt_messages``) and
  the images for them in order (``(H, W, 3)`` uint8 arrays or PIL images). ``temperature`` 0 is
  greedy; above 0 samples with top-p 1 and no top-k, seeded by ``seed``. Special tokens are
  stripped from the text.
- ``Engine.prompt_text(messages) -> str``: the exact string the model is given, from the
  checkpoint's own processor chat template — the same function for every engine, so ``hf`` and
  ``vllm`` see byte-identical prompts (and the same ones training used).

``vllm`` needs a CUDA GPU and the ``vllm`` package (the ``vllm`` extra); without them asking for
it is a ``UsageError`` (one line, exit 2 from the CLIs), never a silent fallback. ``auto`` is the
fallback that is allowed.
"""

from __future__ import annotations

import importlib.util


from robotr1_data.errors import UsageError, did_you_mean

ENGINES = ("hf", "vllm", "auto")

from robotr1_train.engines.base import Request, render_prompt  # noqa: F401 (the public names)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def vllm_unavailable_reason() -> str:
    """Why vLLM cannot run here ("" when it can)."""
    if importlib.util.find_spec("vllm") is None:
        return "vLLM is not installed (pip install 'robotr1[vllm]' on a CUDA machine)"
    if not _cuda_available():
        return "vLLM needs a CUDA GPU and none is visible here"
    return ""


def make_engine(name: str, model_path: str, **options):
    """An engine by name (``hf``, ``vllm``, ``auto``) for the checkpoint at ``model_path``.

    Options: ``device`` (hf: cuda when available, else cpu), ``dtype`` (``auto``/bf16/fp16/fp32);
    vllm also takes ``gpu_memory_utilization``, ``tensor_parallel_size``, ``max_model_len``,
    ``max_images`` (per prompt)."""
    if name not in ENGINES:
        raise UsageError(f"unknown engine '{name}'{did_you_mean(name, ENGINES)} (choose from {', '.join(ENGINES)})")
    if name == "auto":
        name = "hf" if vllm_unavailable_reason() else "vllm"
    if name == "vllm":
        why = vllm_unavailable_reason()
        if why:
            raise UsageError(f"--engine vllm: {why}; use --engine hf (or auto)")
        from robotr1_train.engines.vllm_engine import VLLMEngine

        options.pop("device", None)  # vLLM places the model itself
        return VLLMEngine(model_path, **options)
    from robotr1_train.engines.hf import HFEngine

    return HFEngine.from_checkpoint(model_path, **options)


def check_decoding(max_new_tokens, temperature, do_sample: bool, engine: str) -> None:
    """Refuse decoding settings no engine can honour, before any model is loaded (one line each)."""
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise UsageError(f"--max-new-tokens must be a whole number >= 1 (got {max_new_tokens})")
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise UsageError(f"--temperature must be a number >= 0 (got {temperature!r})") from None
    if not t >= 0 or t == float("inf"):  # also catches nan
        raise UsageError(f"--temperature must be a finite number >= 0 (got {temperature}); 0 is greedy")
    if do_sample and t == 0:
        raise UsageError("--do-sample with --temperature 0 is greedy decoding; drop --do-sample or give a "
                         "temperature above 0")
    if engine not in ENGINES:
        raise UsageError(f"unknown engine '{engine}'{did_you_mean(engine, ENGINES)} (choose from {', '.join(ENGINES)})")
    if engine == "vllm":
        why = vllm_unavailable_reason()
        if why:
            raise UsageError(f"--engine vllm: {why}; use --engine hf (or auto)")
