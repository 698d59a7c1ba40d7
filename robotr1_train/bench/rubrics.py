"""What an LLM judge is asked, per question type, and how its reply is read. Versioned: the judge
cache keys on ``RUBRIC_VERSION``, so changing any text here re-judges instead of reusing scores."""

from __future__ import annotations

import re
from typing import List, Optional

RUBRIC_VERSION = "robotr1-bench-rubric/1"

SYSTEM = (
    "You grade the answers of a robot's reasoning module. You compare the answer with a reference "
    "answer that is known to be correct (it comes from the simulator's ground truth) and give a "
    "score from 0 to 3. Judge meaning, not wording."
)

RUBRICS = {
    "planning": (
        "The question asks for the remaining steps of the task, in order.\n"
        "3: the same steps in the same order; nothing essential missing, nothing wrong added.\n"
        "2: the right plan with one step missing, merged, extra or out of order.\n"
        "1: some correct steps, but several missing or wrong, or the order is mostly wrong.\n"
        "0: a wrong plan, an unrelated answer, or no answer."
    ),
    "high_level": (
        "The question asks for the robot's next step only.\n"
        "3: the same next step (the same action on the same object).\n"
        "2: the right action with the object or detail vague or slightly off.\n"
        "1: a step of this task, but not the next one (e.g. a later step).\n"
        "0: a wrong or unrelated action, or no answer."
    ),
    "movement": (
        "The question asks for the gripper's next primitive movement along the axes (forward/backward "
        "= +x/-x, left/right = -y/+y, up/down = +z/-z; 'slightly' marks an axis moving at most half as "
        "far as the largest).\n"
        "3: every axis right: the same directions, 'slightly' where the reference has it.\n"
        "2: every direction right but 'slightly' added or missing on some axis.\n"
        "1: the main direction (an axis without 'slightly' in the reference) right, another axis "
        "wrong or missing.\n"
        "0: the main direction wrong or missing, or no answer."
    ),
    "spatial": (
        "The question asks where objects are relative to each other or to the gripper (in front of = "
        "+x, left = -y, above = +z), how far apart they are, or which is closer.\n"
        "3: every relation in the reference right, and the distance within about 30 % when asked; for "
        "'which is closer' the right object.\n"
        "2: the relations right but the distance missing or off by more than 30 %.\n"
        "1: some relations right, others missing or wrong.\n"
        "0: wrong relations or the wrong object, or no answer."
    ),
}

REPLY = "Reply with one or two short sentences of justification, then a last line 'Score: N' with N in 0, 1, 2, 3."
RETRY = "Your reply did not end with 'Score: N'. Reply with exactly one line: 'Score: N' (N = 0, 1, 2 or 3)."

_SCORE = re.compile(r"score\s*[:=]?\s*\**\s*([0-3])(?:\s*/\s*3)?\b", re.IGNORECASE)
_BARE = re.compile(r"^\s*\**\s*([0-3])\s*\**\s*(?:/\s*3)?\s*\.?\s*$")


def question_text(record: dict) -> str:
    """The question as the judge sees it: the prompt without the image (judges read text)."""
    return record["prompt"].replace("<image>", "[camera image]")


def messages(record: dict, answer: str) -> List[dict]:
    """Chat messages asking for a 0-3 score of ``answer`` against the record's reference."""
    user = "\n\n".join([
        "Rubric:\n" + RUBRICS[record["type"]],
        "Question given to the robot:\n" + question_text(record),
        "Reference answer:\n" + record["reference"],
        "Answer to grade:\n" + (answer if answer.strip() else "(no answer)"),
        REPLY,
    ])
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_score(reply) -> Optional[int]:
    """The score of a judge reply: the last 'Score: N', else a reply that is only a digit 0-3."""
    if not isinstance(reply, str):
        return None
    hits = _SCORE.findall(reply)
    if hits:
        return int(hits[-1])
    m = _BARE.match(reply)
    return int(m.group(1)) if m else None
