"""Every piece of text a Robot-R1 Bench question is made of, versioned like the QA templates.

The prompt is the QA prompt's (``robotr1_data.qa.templates``: role line, task, image, axes,
origin, gripper size, current state) with an open question and an instruction to answer in
words. Change a string here and bump ``BENCH_VERSION``: every record stores the version.
"""

from __future__ import annotations

from typing import Sequence

from robotr1_data.qa import templates as qa
from robotr1_data.world import table_center

BENCH_VERSION = "robotr1-bench/1"
BENCH_TYPES = ("planning", "high_level", "movement", "spatial")

QUESTIONS = {
    "planning": "Question: Which steps, in order, must the robot still take to finish the task?",
    "high_level": "Question: What should the robot do next (the next step of the task only)?",
    "movement": (
        "Question: Which primitive movement should the gripper make next, to reach the next key pose of "
        "the task? Answer with movements along the axes, like 'move forward, move slightly left, "
        "move down'."
    ),
    "spatial_relation": (
        "Question: Where is {a} relative to {b}? Say whether it is in front of or behind, to the left or "
        "right of, and above or below {b}, and roughly how far apart they are in metres."
    ),
    "spatial_closer": "Question: Which is closer to the gripper, {a} or {b}?",
}
INSTRUCTION = (
    "First think about the question inside <think></think> tags, then give your final answer in a few "
    "words or short sentences inside <answer></answer> tags."
)

# References. Relation words per axis and sign, in the prompt's axes (x forward, y right, z up).
RELATION_WORDS = {
    (0, 1): "in front of",
    (0, -1): "behind",
    (1, 1): "to the right of",
    (1, -1): "to the left of",
    (2, 1): "above",
    (2, -1): "below",
}
PLAN_STEP = "{i}. {name}"
PLAN_JOIN = "\n"
RELATION = "{a} is {relations} {b}, about {distance:.2f} m away."
CLOSER = "{a} is closer to the gripper ({da:.2f} m, against {db:.2f} m for {b})."
GRIPPER_NAME = "the gripper"

# Generic step names (a task without step_names): motion, then gripper action.
STEP_CLOSE = "close the gripper"
STEP_OPEN = "open the gripper"
STEP_LIFT = "lift"
STEP_TO = "{motion} to {target}"
STEP_AND = "{a} and {b}"
STEP_WAIT = "wait"


def prompt(qtype_key: str, description: str, camera: str, current_xyz: Sequence[float], **names) -> str:
    """The full prompt with one ``<image>`` placeholder; ``qtype_key`` is a key of QUESTIONS."""
    gx, gy, gz = qa.GRIPPER_SIZE
    return "\n".join([
        qa.ROLE,
        qa.TASK.format(description=description),
        qa.IMAGE.format(placeholder=qa.IMAGE_PLACEHOLDER, camera=camera),
        qa.AXES,
        qa.ORIGIN.format(origin=qa.fmt_xyz(table_center())),
        qa.GRIPPER.format(gx=gx, gy=gy, gz=gz, finger=qa.FINGER_LENGTH),
        qa.STATE.format(xyz=qa.fmt_xyz(current_xyz)),
        QUESTIONS[qtype_key].format(**names),
        INSTRUCTION,
    ])


def join_relations(words: Sequence[str]) -> str:
    """``in front of, to the left of and above``."""
    words = list(words)
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def sentence(text: str) -> str:
    """Capitalise the first letter (object names start lower case: "the red cup")."""
    return text[:1].upper() + text[1:]
