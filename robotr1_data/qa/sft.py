"""SFT targets for each question: ``direct`` (answer only) and ``cot`` (Plan / Subtask / Move /
Answer, the paper's CoT baseline), both ending in the ``<answer> … </answer>`` form that
``robotr1_train.rewards.parse_answer`` reads.

The CoT is built from facts of the demo, never from a model: the plan lists every keypoint of the
episode with what the gripper does there (close/open when its state changes there, else a plain
move), the subtask is the step whose keypoint comes next, and the move is the movement label from
the current position to that keypoint.
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from . import templates
from .templates import fmt_xyz


def keypoint_actions(gripper_pose: np.ndarray, gripper_open: np.ndarray, keypoints: Sequence[int]) -> List[str]:
    """One action phrase per keypoint: move to xyz [and close/open the gripper]."""
    out = []
    prev = float(gripper_open[0]) if len(gripper_open) else 1.0
    for k in keypoints:
        k = int(k)
        xyz = fmt_xyz(gripper_pose[k, :3])
        now = float(gripper_open[k])
        if now < prev:
            out.append(templates.STEP_CLOSE.format(xyz=xyz))
        elif now > prev:
            out.append(templates.STEP_OPEN.format(xyz=xyz))
        else:
            out.append(templates.STEP_MOVE.format(xyz=xyz))
        prev = now
    return out


def direct_target(answer_text: str) -> str:
    """``<answer> [[B]] </answer>`` (or the xyz for open-ended questions)."""
    return templates.ANSWER_TAG.format(answer=answer_text)


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

    ``step_index`` is the 0-based position of the next keypoint in ``actions``.
    """
    n = len(actions)
    steps = "; ".join(templates.PLAN_STEP.format(i=i + 1, action=a) for i, a in enumerate(actions))
    lines = [
        templates.PLAN.format(description=description.rstrip(". "), n=n, steps=steps),
        templates.SUBTASK.format(i=step_index + 1, n=n, action=actions[step_index]),
        templates.MOVE_LINE.format(label=move_label, current=fmt_xyz(current_xyz), target=fmt_xyz(next_xyz)),
        templates.ANSWER_LINE.format(answer=answer_text),
    ]
    return templates.THINK_TAG.format(thinking="\n".join(lines)) + direct_target(answer_text)
