"""``vlm:RUN_DIR``: a checkpoint from ``robotr1-train``, asked the open-ended keypoint question.

Each keypoint the policy takes the camera's image (eval-sim renders it at the training shards'
size, ``--render-size``), resizes it to ``image_size`` with build-qa's own
``robotr1_data.qa.store.resize`` (so it gets the pixels the QA store gave in training), builds
the ``waypoint_open`` prompt of
``robotr1_data.qa.templates`` (the same words the model was trained on: task description, image,
axes, origin, gripper size, "Current Robot State Position", "Give it as [x, y, z]"), generates
(greedy by default) with the chosen engine (``hf`` or ``vllm``, ``robotr1_train.engines``) and
parses ``<answer> [x, y, z] </answer>`` with ``robotr1_train.rewards``.

The open-ended question asks only for a position, so the gripper state follows a rule taken from
the keypoint definition (ARM/PerAct keypoints): a keypoint where the gripper opens or closes is a stop at
the same place, so an answer within ``toggle_radius`` (1.5 cm) of the current position toggles the
gripper (``gripper="auto"``). An answer may also name the state itself after the position
(``[0.3, 0.1, 0.8] close``); ``gripper="keep"`` never changes it. A missing or malformed answer
raises ``PolicyOutputError("unparseable")``; the evaluator counts it and ends the episode.

``RUN_DIR`` may be a run directory (its ``final/`` is used), a ``save_pretrained`` model directory,
or a LoRA adapter directory (its base model is loaded from ``adapter_config.json``).
"""

from __future__ import annotations

import re
from typing import List, Optional, Sequence, Tuple

import numpy as np

from robotr1_data.errors import UsageError
from robotr1_train.engines.checkpoint import load_checkpoint, resolve_checkpoint  # noqa: F401 (re-exported)
from robotr1_train.policies.base import KeypointTarget, Observation, Policy, PolicyOutputError

_GRIPPER_WORD = re.compile(r"[ \t,;]*(open|opened|close|closed)[ \t.]*", re.IGNORECASE)


class VLMGenerator:
    """Answers to Robot-R1 records from a generation engine (``robotr1_train.engines``): each
    record's prompt becomes chat messages (``robotr1_train.data.prompt_messages``, one image per
    ``<image>`` placeholder), the same for every engine and the same as training."""

    def __init__(self, engine, max_new_tokens: int = 256, do_sample: bool = False,
                 temperature: float = 1.0, seed: int = 0):
        self.engine = engine
        self.max_new_tokens = int(max_new_tokens)
        self.do_sample, self.temperature = bool(do_sample), float(temperature)
        self.seed = int(seed)

    @classmethod
    def from_run_dir(cls, run_dir: str, device: Optional[str] = None, engine: str = "hf",
                     **kwargs) -> "VLMGenerator":
        from robotr1_train.engines import make_engine

        return cls(make_engine(engine, run_dir, device=device), **kwargs)

    def requests(self, records: Sequence[dict], images: Sequence[Sequence[np.ndarray]]) -> list:
        from robotr1_train.data import prompt_messages

        return [(prompt_messages(r), list(ims)) for r, ims in zip(records, images)]

    def generate(self, records: Sequence[dict], images: Sequence[Sequence[np.ndarray]]) -> List[str]:
        return self.engine.generate(self.requests(records, images), self.max_new_tokens,
                                    self.temperature if self.do_sample else 0.0, self.seed)


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
                 generator: Optional[VLMGenerator] = None, engine: str = "hf"):
        if gripper not in ("auto", "keep"):
            raise UsageError(f"unknown VLM gripper rule '{gripper}'; use auto or keep")
        self.run_dir = run_dir
        self.camera = camera
        self.cameras = (camera,)
        self.image_size = tuple(int(v) for v in image_size)
        self.gripper, self.toggle_radius = gripper, float(toggle_radius)
        self.engine = engine
        self.generator = generator or VLMGenerator.from_run_dir(
            run_dir, device=device, engine=engine, max_new_tokens=max_new_tokens, do_sample=do_sample,
            temperature=temperature)

    def prompt(self, obs: Observation) -> dict:
        from robotr1_data.qa.templates import build_prompt

        return {"id": f"{obs.task}-{obs.keypoint_index}", "type": "waypoint_open",
                "prompt": build_prompt("waypoint_open", obs.description, self.camera, obs.state, None)}

    def predict(self, obs: Observation) -> KeypointTarget:
        from robotr1_data.qa.store import resize

        if self.camera not in obs.images:
            raise UsageError(f"the VLM policy needs the '{self.camera}' camera image")
        # build-qa's resize, not a second one: the same frame must give the same array
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
                "do_sample": g.do_sample, "temperature": g.temperature,
                "engine": getattr(getattr(g, "engine", None), "name", self.engine)}
