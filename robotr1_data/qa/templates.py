"""Every piece of text a question is made of, in one place, versioned.

Change any string here and bump ``TEMPLATE_VERSION``: each record and each build summary stores
the version it was built with, so a QA store found later says which wording it holds.

The prompt follows the Robot-R1 structure (arXiv 2506.00070; docs/qa.md): role line, task description, the image
(``<image>`` placeholder), axes, world origin, gripper size, current state (where the question type
uses it), the question, the choices, and the think/answer instruction.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence

from robotr1_data.world import table_center

TEMPLATE_VERSION = "robotr1-qa/2"

IMAGE_PLACEHOLDER = "<image>"
LETTERS = ("A", "B", "C", "D")

QUESTION_TYPES = ("waypoint", "current", "movement", "waypoint_open")
MCQA_TYPES = ("waypoint", "current", "movement")
# The paper's main setting: the three multiple-choice types. waypoint_open is its ablation.
DEFAULT_TYPES = MCQA_TYPES

# World facts of our MuJoCo scene (true by construction); the table centre (the world origin
# the prompt states) is the scene's, from robotr1_data.world.
GRIPPER_SIZE = (0.06, 0.2, 0.09)  # x, y, z in metres
FINGER_LENGTH = 0.04

ROLE = (
    "You are Franka Robot Assistant, the reasoning module of a Franka Panda robot arm with a "
    "parallel-jaw gripper. You look at the scene, reason about the robot's state, and decide how "
    "the gripper should move to complete the task."
)
TASK = "Task: {description}"
IMAGE = "{placeholder}\nThe image above is the {camera} camera view of the robot's workspace."
AXES = (
    "Coordinate system (world frame, metres): "
    "x: front of the table (+) to back (-); "
    "y: left (-) to right (+); "
    "z: down (-) to up (+)."
)
ORIGIN = "The centre of the table surface is at the world position {origin}."
GRIPPER = (
    "The gripper is {gx:g} m (x) by {gy:g} m (y) by {gz:g} m (z); each finger is {finger:g} m long."
)
STATE = "Current Robot State Position: {xyz}"

QUESTIONS = {
    "waypoint": (
        "Question: Which position will the gripper reach at the next keypoint (the next key pose "
        "of the task, where the gripper stops or opens/closes)?"
    ),
    "current": "Question: What is the current position of the gripper?",
    "movement": (
        "Question: Which movement takes the gripper from its current position to the next "
        "keypoint (the next key pose of the task)?"
    ),
    "waypoint_open": (
        "Question: What is the position of the gripper at the next keypoint (the next key pose of "
        "the task, where the gripper stops or opens/closes)? Give it as [x, y, z] in metres with 3 "
        "decimals."
    ),
}
CHOICES_HEADER = "Choices:"
CHOICE = "[[{letter}]] {text}"
INSTRUCTION_MCQA = (
    "First think about the question inside <think></think> tags, then give your final answer "
    "inside <answer></answer> tags as one choice, e.g. <answer> [[A]] </answer>."
)
INSTRUCTION_OPEN = (
    "First think about the question inside <think></think> tags, then give your final answer "
    "inside <answer></answer> tags as a position, e.g. <answer> [0.265, -0.112, 1.154] </answer>."
)

# Movement labels (robotr1_data.qa.movement): per axis and sign, the direction word.
AXIS_WORDS = {
    (0, 1): "forward",
    (0, -1): "backward",
    (1, 1): "right",
    (1, -1): "left",
    (2, 1): "up",
    (2, -1): "down",
}
MOVE = "move {word}"
MOVE_SLIGHTLY = "move slightly {word}"
MOVE_JOIN = ", "
NO_MOVE = "stay in place"

# SFT targets (robotr1_data.qa.sft). The CoT is kept short (about 100 tokens): the plan names the
# keypoints where the gripper closes or opens rather than every keypoint's position, so a model
# sampling it (GRPO rollouts, evaluation) spends its tokens on the step that decides the answer.
ANSWER_TAG = "<answer> {answer} </answer>"
THINK_TAG = "<think>\n{thinking}\n</think>\n"
EMPTY_THINK = "<think>\n</think>\n"  # the direct target: no reasoning, same format
PLAN = "Plan: to {description}, the gripper goes through {n} keypoints{events}."
PLAN_EVENT = "{verb} at {i}"
PLAN_EVENTS = ", {events}"
EVENT_VERBS = {"close": "closing it", "open": "opening it"}
STEP_MOVE = "move"
STEP_CLOSE = "move and close the gripper"
STEP_OPEN = "move and open the gripper"
SUBTASK = "Subtask: step {i} of {n}, {action}."
MOVE_LINE = "Move: {label} (from {current} to {target})."
ANSWER_LINE = "Answer: {answer}"


def fmt_xyz(xyz: Sequence[float]) -> str:
    """World metres with 3 decimals, as in the paper: ``[0.265, -0.112, 1.154]``."""
    vals = []
    for v in xyz:
        s = f"{float(v):.3f}"
        if s == "-0.000":
            s = "0.000"
        vals.append(s)
    return "[" + ", ".join(vals) + "]"


def mcqa_answer(letter: str) -> str:
    return f"[[{letter}]]"


def build_prompt(
    qtype: str,
    description: str,
    camera: str,
    current_xyz: Optional[Sequence[float]],
    options: Optional[Mapping[str, str]],
) -> str:
    """The full user prompt for one question, with one ``<image>`` placeholder."""
    if qtype not in QUESTIONS:
        raise ValueError(f"unknown question type {qtype!r}; expected one of {QUESTION_TYPES}")
    gx, gy, gz = GRIPPER_SIZE
    lines = [
        ROLE,
        TASK.format(description=description),
        IMAGE.format(placeholder=IMAGE_PLACEHOLDER, camera=camera),
        AXES,
        ORIGIN.format(origin=fmt_xyz(table_center())),
        GRIPPER.format(gx=gx, gy=gy, gz=gz, finger=FINGER_LENGTH),
    ]
    if qtype != "current":
        if current_xyz is None:
            raise ValueError(f"question type {qtype!r} needs the current state")
        lines.append(STATE.format(xyz=fmt_xyz(current_xyz)))
    lines.append(QUESTIONS[qtype])
    if qtype in MCQA_TYPES:
        if not options or sorted(options) != list(LETTERS):
            raise ValueError(f"question type {qtype!r} needs options {LETTERS}")
        lines.append(CHOICES_HEADER)
        lines.extend(CHOICE.format(letter=k, text=options[k]) for k in LETTERS)
        lines.append(INSTRUCTION_MCQA)
    else:
        lines.append(INSTRUCTION_OPEN)
    return "\n".join(lines)


def template_strings() -> Dict[str, object]:
    """All template strings (for docs and for checking a store against the code)."""
    return {k: v for k, v in globals().items() if k.isupper() and isinstance(v, (str, dict, tuple))}
