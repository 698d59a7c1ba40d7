"""``vlm:RUN_DIR``: a checkpoint from ``robotr1-train``, asked the open-ended keypoint question.

Each keypoint the policy renders the front view, builds the ``waypoint_open`` prompt of
``robotr1_data.qa.templates`` (the same words the model was trained on: task description, image,
axes, origin, gripper size, "Current Robot State Position", "Give it as [x, y, z]"), generates
(greedy by default) and parses ``<answer> [x, y, z] </answer>`` with ``robotr1_train.rewards``.

The open-ended question asks only for a position, so the gripper state follows a rule taken from
the keypoint definition (DESIGN.md §3): a keypoint where the gripper opens or closes is a stop at
the same place, so an answer within ``toggle_radius`` (1.5 cm) of the current position toggles the
gripper (``gripper="auto"``). An answer may also name the state itself after the position
(``[0.3, 0.1, 0.8] close``); ``gripper="keep"`` never changes it. A missing or malformed answer
raises ``PolicyOutputError("unparseable")``; the evaluator counts it and ends the episode.

``RUN_DIR`` may be a run directory (its ``final/`` is used), a ``save_pretrained`` model directory,
or a LoRA adapter directory (its base model is loaded from ``adapter_config.json``).
"""

from __future__ import annotations

import json
import os
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np

from robotr1_data.errors import UsageError
from robotr1_train.policies.base import KeypointTarget, Observation, Policy, PolicyOutputError

_GRIPPER_WORD = re.compile(r"[ \t,;]*(open|opened|close|closed)[ \t.]*", re.IGNORECASE)


def resolve_checkpoint(run_dir: str) -> str:
    """The directory holding the weights: ``RUN_DIR/final`` when there, else ``RUN_DIR`` itself."""
    if not os.path.isdir(run_dir):
        raise UsageError(f"model/run directory '{run_dir}' does not exist; pass a run directory written by "
                         "`robotr1-train grpo|sft --out RUN_DIR` or a save_pretrained model directory")
    for cand in (os.path.join(run_dir, "final"), run_dir):
        if any(os.path.isfile(os.path.join(cand, f)) for f in ("config.json", "adapter_config.json")):
            return cand
    raise UsageError(f"'{run_dir}' holds no model: expected config.json or adapter_config.json there or in "
                     f"'{run_dir}/final' (is training finished? intermediate checkpoints keep only the "
                     "optimiser state)")


def load_checkpoint(run_dir: str, device: Optional[str] = None, dtype: str = "auto"):
    """(model in eval mode, processor) for a run directory, model directory or LoRA adapter."""
    import torch

    from robotr1_train.models import load_model_and_processor, load_processor

    path = resolve_checkpoint(run_dir)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    adapter = os.path.join(path, "adapter_config.json")
    if os.path.isfile(adapter) and not os.path.isfile(os.path.join(path, "config.json")):
        with open(adapter) as f:
            base = json.load(f).get("base_model_name_or_path")
        if not base:
            raise UsageError(f"{adapter} names no base_model_name_or_path; cannot load the LoRA adapter")
        lp = load_model_and_processor(base, dtype=dtype, device=device, gradient_checkpointing=False)
        from peft import PeftModel

        model = PeftModel.from_pretrained(lp.model, path).to(device)
        try:
            processor = load_processor(path)
        except UsageError:
            processor = lp.processor
        processor.tokenizer.padding_side = "left"
        if processor.tokenizer.pad_token_id is None:
            processor.tokenizer.pad_token = processor.tokenizer.eos_token
    else:
        lp = load_model_and_processor(path, dtype=dtype, device=device, gradient_checkpointing=False)
        model, processor = lp.model, lp.processor
    model.eval()
    return model, processor


class VLMGenerator:
    """Batched answers from a VLM for Robot-R1 prompts (one ``<image>`` placeholder per image)."""

    def __init__(self, model, processor, max_new_tokens: int = 256, do_sample: bool = False,
                 temperature: float = 1.0, top_p: float = 1.0, seed: int = 0):
        from robotr1_train.models import vision_token_ids

        self.model, self.processor = model, processor
        self.tokenizer = processor.tokenizer
        self.max_new_tokens = int(max_new_tokens)
        self.do_sample, self.temperature, self.top_p = bool(do_sample), float(temperature), float(top_p)
        self.seed = int(seed)
        self.suppress = vision_token_ids(model) or None
        eos = {self.tokenizer.eos_token_id}
        gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        if isinstance(gen_eos, int):
            eos.add(gen_eos)
        elif isinstance(gen_eos, (list, tuple)):
            eos.update(gen_eos)
        self.eos_ids = sorted(int(e) for e in eos if e is not None)

    @classmethod
    def from_run_dir(cls, run_dir: str, device: Optional[str] = None, **kwargs) -> "VLMGenerator":
        model, processor = load_checkpoint(run_dir, device=device)
        return cls(model, processor, **kwargs)

    def generate(self, records: Sequence[dict], images: Sequence[Sequence[np.ndarray]]) -> List[str]:
        import torch

        from robotr1_train.data import encode_prompts
        from robotr1_train.models import move_batch

        enc = encode_prompts(self.processor, list(records), [list(i) for i in images])
        device = next(self.model.parameters()).device
        dtype = next(self.model.parameters()).dtype
        batch = move_batch(enc, device, dtype)
        prompt_len = batch["input_ids"].shape[1]
        kwargs = dict(max_new_tokens=self.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
                      eos_token_id=self.eos_ids, use_cache=True, suppress_tokens=self.suppress)
        if self.do_sample:
            kwargs.update(do_sample=True, temperature=self.temperature, top_p=self.top_p, top_k=0)
            torch.manual_seed(self.seed)
        else:
            kwargs.update(do_sample=False)
        with torch.no_grad():
            out = self.model.generate(**batch, **kwargs)
        seqs = out if isinstance(out, torch.Tensor) else out.sequences
        return [self.tokenizer.decode(row, skip_special_tokens=True) for row in seqs[:, prompt_len:].cpu()]


def parse_keypoint_answer(text) -> Tuple[Optional[Tuple[float, float, float]], Optional[bool]]:
    """``(xyz, gripper_open)`` from a completion; xyz None when unparseable, gripper None when the
    answer does not name it. Never raises."""
    from robotr1_train.rewards import parse_answer, parse_xyz

    content = parse_answer(text)
    if content is None:
        return None, None
    xyz = parse_xyz(content)
    if xyz is not None:
        return xyz, None
    cut = content.rfind("]")
    if cut < 0:
        return None, None
    xyz = parse_xyz(content[: cut + 1])
    m = _GRIPPER_WORD.fullmatch(content[cut + 1:])
    if xyz is None or m is None:
        return None, None
    return xyz, m.group(1).lower().startswith("open")


class VLMPolicy(Policy):
    name = "vlm"

    def __init__(self, run_dir: str, camera: str = "front", image_size: Tuple[int, int] = (224, 224),
                 max_new_tokens: int = 256, gripper: str = "auto", toggle_radius: float = 0.015,
                 do_sample: bool = False, temperature: float = 1.0, device: Optional[str] = None,
                 generator: Optional[VLMGenerator] = None):
        if gripper not in ("auto", "keep"):
            raise UsageError(f"unknown VLM gripper rule '{gripper}'; use auto or keep")
        self.run_dir = run_dir
        self.camera = camera
        self.cameras = (camera,)
        self.image_size = tuple(int(v) for v in image_size)
        self.gripper, self.toggle_radius = gripper, float(toggle_radius)
        self.generator = generator or VLMGenerator.from_run_dir(
            run_dir, device=device, max_new_tokens=max_new_tokens, do_sample=do_sample,
            temperature=temperature)

    def prompt(self, obs: Observation) -> dict:
        from robotr1_data.qa.templates import build_prompt

        return {"id": f"{obs.task}-{obs.keypoint_index}", "type": "waypoint_open",
                "prompt": build_prompt("waypoint_open", obs.description, self.camera, obs.state, None)}

    def predict(self, obs: Observation) -> KeypointTarget:
        from robotr1_data.qa.store import resize

        if self.camera not in obs.images:
            raise UsageError(f"the VLM policy needs the '{self.camera}' camera image")
        image = resize(obs.images[self.camera], self.image_size)
        text = self.generator.generate([self.prompt(obs)], [[image]])[0]
        xyz, named = parse_keypoint_answer(text)
        if xyz is None:
            raise PolicyOutputError("unparseable", "no <answer> [x, y, z] </answer> in the output", text=text)
        gripper_open = obs.gripper_open
        if named is not None:
            gripper_open = named
        elif self.gripper == "auto" and np.linalg.norm(np.asarray(xyz) - obs.state) <= self.toggle_radius:
            gripper_open = not obs.gripper_open
        return KeypointTarget(np.asarray(xyz), gripper_open, text=text)

    def describe(self) -> dict:
        g = self.generator
        return {"name": self.name, "run_dir": self.run_dir, "camera": self.camera,
                "image_size": list(self.image_size), "gripper": self.gripper,
                "toggle_radius": self.toggle_radius, "max_new_tokens": g.max_new_tokens,
                "do_sample": g.do_sample, "temperature": g.temperature}
