"""Who answers the bench: ``oracle`` (the references), ``noop`` ("I don't know") or a model (the
same loading and generation as eval-qa), and how an answer is read from a completion."""

from __future__ import annotations

import importlib.util
import os
import re
from typing import Callable, List, Optional, Sequence

from robotr1_data.errors import UsageError

NOOP_TEXT = "I don't know"
BASELINES = ("oracle", "noop")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def model_label(model: str) -> str:
    return model if model in BASELINES else os.path.abspath(model)


def model_fingerprint(model: str, **settings) -> str:
    """What made the answers: the model's files (names, sizes, modification times) and the
    generation settings, so a resumed run never mixes answers of a retrained model."""
    import hashlib
    import json

    files = []
    if model not in BASELINES and os.path.isdir(model):
        for root, _, names in sorted(os.walk(model)):
            for n in sorted(names):
                if n.endswith((".json", ".safetensors", ".bin")):
                    st = os.stat(os.path.join(root, n))
                    files.append([os.path.relpath(os.path.join(root, n), model), st.st_size, st.st_mtime_ns])
    blob = json.dumps([model_label(model), files, sorted(settings.items())])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def extract_answer(text) -> str:
    """The ``<answer>`` content; without one pair, the completion minus its ``<think>`` part (an
    open question is judged on what the model said, tags or not)."""
    from robotr1_train.rewards import parse_answer

    if not isinstance(text, str):
        return ""
    got = parse_answer(text)
    if got is not None:
        return got
    return _THINK.sub(" ", text).replace("<answer>", " ").replace("</answer>", " ").strip()


def make_answerer(model: str, engine: str = "hf", device: Optional[str] = None, max_new_tokens: int = 256,
                  seed: int = 0) -> Callable[[Sequence[dict], Sequence[Sequence]], List[str]]:
    """``generate(records, images) -> completions``."""
    if model == "oracle":
        return lambda recs, imgs: [f"<answer> {r['reference']} </answer>" for r in recs]
    if model == "noop":
        return lambda recs, imgs: [f"<answer> {NOOP_TEXT} </answer>" for _ in recs]
    import inspect

    from robotr1_train.policies.vlm import VLMGenerator

    if "engine" in inspect.signature(VLMGenerator.from_run_dir).parameters:  # robotr1_train.engines present
        gen = VLMGenerator.from_run_dir(model, device=device or None, engine=engine, max_new_tokens=max_new_tokens,
                                        seed=seed)
        return gen.generate
    if engine == "vllm":
        why = ("vLLM is not installed here (pip install -e '.[vllm]' on a CUDA machine)"
               if importlib.util.find_spec("vllm") is None else "this build has no vLLM generation path")
        raise UsageError(f"--engine vllm: {why}; use --engine hf")
    gen = VLMGenerator.from_run_dir(model, device=device or None, max_new_tokens=max_new_tokens, seed=seed)
    return gen.generate
