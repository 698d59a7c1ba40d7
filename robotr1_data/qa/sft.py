"""SFT targets for each question: ``direct`` (the answer, after an empty think block) and ``cot`` (Plan / Subtask / Move /
Answer, the paper's CoT baseline), both ending in the ``<answer> … </answer>`` form that
``robotr1_train.rewards.parse_answer`` reads.

The CoT is built from facts of the demo, never from a model: the plan says how many keypoints the
episode has and at which the gripper closes or opens, the subtask is the step whose keypoint comes
next, and the move is the movement label from the current position to that keypoint, with both
positions. Those positions and the label are the answers' own wording (the ``current`` option, the
``waypoint`` option, the ``movement`` option), so the answer letter follows from the thinking: what
GRPO can then reinforce is the thinking itself. The CoT stays about 100 tokens long (listing every
keypoint's position would triple it) because GRPO samples it for every rollout.
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from . import templates
from .templates import fmt_xyz


def keypoint_actions(gripper_pose: np.ndarray, gripper_open: np.ndarray, keypoints: Sequence[int]) -> List[str]:
    """One action phrase per keypoint: move [and close/open the gripper when its state changes there]."""
    out = []
    prev = float(gripper_open[0]) if len(gripper_open) else 1.0
    for k in keypoints:
        now = float(gripper_open[int(k)])
        if now < prev:
            out.append(templates.STEP_CLOSE)
        elif now > prev:
            out.append(templates.STEP_OPEN)
        else:
            out.append(templates.STEP_MOVE)
        prev = now
    return out


def answer_tag(answer_text: str) -> str:
    """``<answer> [[B]] </answer>`` (or the xyz for open-ended questions)."""
    return templates.ANSWER_TAG.format(answer=answer_text)


def direct_target(answer_text: str) -> str:
    """The answer with an empty thinking block: ``<think>\n</think>\n<answer> [[B]] </answer>``.

    The empty ``<think>`` keeps the paper's direct baseline (no reasoning) in the format the reward
    asks for, so a model warm-started on it earns the format reward and GRPO from it starts from a
    non-zero reward.
    """
    return templates.EMPTY_THINK + answer_tag(answer_text)


def answer_only_target(direct: str) -> str:
    """``direct_target``'s text without its empty ``<think>``: ``<answer> [[B]] </answer>``.

    It earns no format reward (no ``<think>``). Why it exists: the tiny model trained from scratch on
    ``direct`` stayed at chance on held-out questions while the same model, data and steps on the
    answer tag alone learnt the letter (docs/benchmarks.md, "Learning").
    """
    if not direct.startswith(templates.EMPTY_THINK):
        raise ValueError(f"'{direct[:40]}' is not a direct target")
    return direct[len(templates.EMPTY_THINK):]


TARGETS = ("direct", "answer", "cot")  # what `robotr1-train sft --target` and `export-qa --sft` take


def record_target(record: dict, target: str) -> str:
    """A question record's SFT target text: ``sft_direct`` / ``sft_cot`` as build-qa stored them,
    ``answer`` made from ``sft_direct``. ``ValueError`` (naming the question) when it is missing."""
    key = "sft_direct" if target == "answer" else f"sft_{target}"
    val = record.get(key)
    if not isinstance(val, str) or not val:
        raise ValueError(f"question {record.get('id')} has no '{key}' text")
    return answer_only_target(val) if target == "answer" else val


def plan_events(actions: Sequence[str]) -> str:
    """``, closing it at 3 and opening it at 8`` (1-based keypoints), or ``""`` without gripper changes."""
    events = []
    for i, a in enumerate(actions):
        for kind, phrase in (("close", templates.STEP_CLOSE), ("open", templates.STEP_OPEN)):
            if a == phrase:
                events.append(templates.PLAN_EVENT.format(verb=templates.EVENT_VERBS[kind], i=i + 1))
    if not events:
        return ""
    joined = events[0] if len(events) == 1 else ", ".join(events[:-1]) + " and " + events[-1]
    return templates.PLAN_EVENTS.format(events=joined)


def cot_target(
    description: str,
    actions: Sequence[str],
    step_index: int,
    move_label: str,
    current_xyz: Sequence[float],
    next_xyz: Sequence[float],
    answer_text: str,
) -> str:
    """``<think>`` Plan / Subtask / Move / Answer ``</think>`` then the answer tag.

    ``actions`` holds one phrase per keypoint (``keypoint_actions``); ``step_index`` is the 0-based
    position of the next keypoint in it.
    """
    n = len(actions)
    lines = [
        templates.PLAN.format(description=description.rstrip(". "), n=n, events=plan_events(actions)),
        templates.SUBTASK.format(i=step_index + 1, n=n, action=actions[step_index]),
        templates.MOVE_LINE.format(label=move_label, current=fmt_xyz(current_xyz), target=fmt_xyz(next_xyz)),
        templates.ANSWER_LINE.format(answer=answer_text),
    ]
    return templates.THINK_TAG.format(thinking="\n".join(lines)) + answer_tag(answer_text)
