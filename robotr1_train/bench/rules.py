"""``rules``: an automatic 0-3 judge from the ground truth each record carries.

- **movement**: the answer's phrases ``move [slightly] <direction>`` give a code per axis (the
  movement MCQA's vocabulary). 3 = the reference code; 2 = every axis's direction right, some
  "slightly" differs; 1 = every main axis (±2 in the reference) right, another axis wrong or
  missing; 0 = otherwise, or no movement phrase. An axis named in two directions is wrong.
- **spatial, relation**: object names are masked, then relation words are read (in front/behind,
  left/right, above/below). Axes the reference states must be stated the same way; an axis the
  reference calls level (|Δ| < margin/2) must not be stated; axes between (too close to call) are
  ignored. 2 points when every stated axis is right and none is wrong, 1 when at least half are
  right and none is wrong; +1 when a distance (m or cm) is within max(30 %, 0.05 m) of the truth.
- **spatial, closer**: 3 when the first of the two asked objects the answer names is the closer
  one, else 0.
- **planning**: the answer is split into steps (lines, numbered items, ';' or "then"); steps are
  aligned in order with the reference's (a weighted longest common subsequence, each pair weighted
  by content-word F1, stopwords dropped); score = round(3 × aligned sum / the longer step count),
  so missing, extra and out-of-order steps all cost.
- **high_level**: round(3 × F1) against the next step; 0 when the answer matches another step of
  the plan strictly better (it names a different step).

Each score comes with a one-line reason, kept as the judge's reply. The rules are
conservative paraphrase-blind proxies: a right answer in other words (e.g. "toward the camera")
scores low; docs/bench.md says how far they agree with an LLM judge.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Tuple

_MOVE = re.compile(r"\b(slightly\s+)?(forwards?|backwards?|left|right|up|down)\b", re.IGNORECASE)
_AXIS = {"forward": (0, 1), "backward": (0, -1), "right": (1, 1), "left": (1, -1), "up": (2, 1), "down": (2, -1)}
_REL = [  # (pattern, axis, sign); longest first so "in front of" is not also "front"
    (r"\bin front\b|\bfront of\b|\bfurther forward\b|\bforward of\b", 0, 1),
    (r"\bbehind\b|\bbackward of\b|\bfurther back\b", 0, -1),
    (r"\bleft\b", 1, -1),
    (r"\bright\b", 1, 1),
    (r"\babove\b|\bover\b|\bhigher\b|\bon top of\b", 2, 1),
    (r"\bbelow\b|\bunder\b|\bunderneath\b|\bbeneath\b|\blower\b", 2, -1),
]
_DIST = re.compile(r"(-?\d+(?:\.\d+)?)\s*(cm|centimet(?:er|re)s?|mm|m\b|met(?:er|re)s?)", re.IGNORECASE)
_STOP = set("""a an the and or of to on in at into onto from with by for then it its is are be this that
these those robot gripper should will must next step steps first second finally i you we do don't dont
know not no yes until so as don t idk sure unsure cannot can""".split())
_WORD = re.compile(r"[a-z]+")


def movement_code(text: str) -> Optional[Tuple[int, int, int]]:
    """Per-axis code of the answer's movement phrases; None when it has none."""
    found: Dict[int, set] = {}
    for slight, word in _MOVE.findall(text or ""):
        axis, sign = _AXIS[word.lower().rstrip("s")]
        found.setdefault(axis, set()).add(sign * (1 if slight.strip() else 2))
    if not found:
        return None
    code = []
    for axis in range(3):
        vals = found.get(axis, set())
        if not vals:
            code.append(0)
        elif len({v > 0 for v in vals}) > 1:
            code.append(9)  # both directions: wrong whatever the truth
        else:
            code.append(max(vals, key=abs))
    return tuple(code)  # type: ignore[return-value]


def score_movement(record: dict, answer: str) -> Tuple[int, str]:
    ref = tuple(record["facts"]["code"])
    got = movement_code(answer)
    if got is None:
        return 0, "no movement phrase"
    if got == ref:
        return 3, "same movement on every axis"
    same_sign = all((g > 0) == (r > 0) and (g < 0) == (r < 0) and g != 9 for g, r in zip(got, ref))
    if same_sign:
        return 2, "directions right, 'slightly' differs"
    main = [i for i, r in enumerate(ref) if abs(r) == 2]
    if all(got[i] != 9 and (got[i] > 0) == (ref[i] > 0) and got[i] != 0 for i in main):
        return 1, "main direction right, another axis wrong or missing"
    return 0, "main direction wrong or missing"


def _mask(text: str, names: Sequence[str]) -> str:
    out = text or ""
    for n in sorted(names, key=len, reverse=True):
        for variant in (n, n[4:] if n.lower().startswith("the ") else n):
            out = re.sub(re.escape(variant), " OBJ ", out, flags=re.IGNORECASE)
    return out


def stated_relations(text: str) -> Dict[int, set]:
    found: Dict[int, set] = {}
    for pat, axis, sign in _REL:
        if re.search(pat, text, re.IGNORECASE):
            found.setdefault(axis, set()).add(sign)
    return found


def stated_distance(text: str) -> Optional[float]:
    m = _DIST.search(text)
    if not m:
        return None
    v, unit = float(m.group(1)), m.group(2).lower()
    return v / 100 if unit.startswith("c") else v / 1000 if unit == "mm" else v


def score_spatial(record: dict, answer: str) -> Tuple[int, str]:
    f = record["facts"]
    names = list(f.get("objects", {})) + ["the gripper"]
    if f["kind"] == "closer":
        a, b = f["asked"]
        low = (answer or "").lower()
        pos = {n: low.find(n.lower()[4:] if n.lower().startswith("the ") else n.lower()) for n in (a, b)}
        hits = {n: p for n, p in pos.items() if p >= 0}
        if not hits:
            return 0, "names neither object"
        first = min(hits, key=hits.get)
        return (3, "names the closer object") if first == f["closer"] else (0, "names the farther object")
    text = _mask(answer, names)
    stated = stated_relations(text)
    axes = f["axes"]
    wanted = [i for i, s in enumerate(axes) if s]
    right = sum(1 for i in wanted if stated.get(i) == {axes[i]})
    wrong = sum(1 for i, s in enumerate(axes) if i in stated and s is not None and stated[i] != ({s} if s else set()))
    if wrong:
        rel, why = 0, f"{wrong} relation(s) wrong"
    elif right == len(wanted):
        rel, why = 2, "relations right"
    elif right * 2 >= len(wanted) and right:
        rel, why = 1, f"{right} of {len(wanted)} relations right"
    else:
        rel, why = 0, "relations missing"
    d = stated_distance(text)
    ok = d is not None and abs(d - f["distance"]) <= max(0.3 * f["distance"], 0.05)
    return rel + int(ok), why + (", distance right" if ok else ", distance missing or off")


def _tokens(text: str) -> List[str]:
    return [w for w in _WORD.findall((text or "").lower()) if w not in _STOP]


def f1(a: str, b: str) -> float:
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 0.0
    common = sum(min(ta.count(w), tb.count(w)) for w in set(ta))
    if not common:
        return 0.0
    p, r = common / len(ta), common / len(tb)
    return 2 * p * r / (p + r)


def split_steps(text: str) -> List[str]:
    parts = re.split(r"\n|;|\s(?=\d+[.)]\s)|,?\s+then\s+", text or "")
    parts = [re.sub(r"^\s*\d+[.)]\s*", "", p).strip() for p in parts]
    return [p for p in parts if p]


def aligned_overlap(ref: List[str], got: List[str]) -> float:
    """Best order-preserving alignment of steps (a weighted longest common subsequence, each pair
    weighted by content-word F1): the sum of the aligned pairs' F1."""
    n, m = len(ref), len(got)
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            best[i][j] = max(best[i - 1][j], best[i][j - 1], best[i - 1][j - 1] + f1(ref[i - 1], got[j - 1]))
    return best[n][m]


def score_planning(record: dict, answer: str) -> Tuple[int, str]:
    ref = split_steps(record["reference"])
    got = split_steps(answer)
    if not got or not ref:
        return 0, "no steps"
    share = aligned_overlap(ref, got) / max(len(ref), len(got))
    return int(round(3 * share)), f"aligned step overlap {share:.2f} ({len(got)} steps, reference {len(ref)})"


def score_high_level(record: dict, answer: str) -> Tuple[int, str]:
    ref = record["reference"]
    own = f1(answer, ref)
    others = [f1(answer, st["name"]) for st in record["facts"].get("plan", []) if st["name"] != ref]
    if others and max(others) > own:
        return 0, "matches another step of the plan better"
    return int(round(3 * own)), f"overlap with the next step {own:.2f}"


SCORERS = {"movement": score_movement, "spatial": score_spatial, "planning": score_planning,
           "high_level": score_high_level}


def score(record: dict, answer: str) -> Tuple[int, str]:
    return SCORERS[record["type"]](record, answer or "")
