"""Build Robot-R1 questions from shards (``robotr1-data build-qa``).

Rules (docs/qa.md has the prose):

- Episodes: successful ones only (``include_failed`` to keep the rest), in shard order then
  episode order; the task description is the episode's first description.
- Current frames: for each ``c`` in ``0, stride, 2·stride, …`` the first frame in
  ``[c, c + stride)`` that has an image of the chosen camera (with images at every frame this is
  ``c`` itself), kept while a keypoint strictly after it exists (``keypoints.next_keypoint``).
- Per current frame, one question of each requested type, in the fixed order of
  ``templates.QUESTION_TYPES``; a movement question is skipped when the gripper barely moves
  (every axis below ``min_move``).
- Distractors: the paper's rules by default (state options uniform in the workspace, movement
  options the answer's adjacent movements); ``state_distractors`` / ``movement_distractors`` pick
  the opt-in rules that the option text does not give away (docs/qa.md). ``movement_distractors
  = task`` reads every episode's movements before drawing any question, so a question's options
  depend on the other episodes of the build.
- One ``numpy.random.Generator`` seeded from ``seed`` drives every draw (distractors, adjacent
  movements, letter blocks), consumed in that fixed order: same inputs and seed, same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..config import build, check_bounds, opt, read_yaml
from ..errors import UsageError, did_you_mean, output_dir
from ..keypoints import next_keypoint
from . import distractors as D
from . import movement as M
from . import sft, templates
from ..files import fsync_dir
from ..files import atomic_write_text
from .store import BUILDING_FILE, QUESTIONS_FILE, SUMMARY_FILE, file_sha256
from .templates import LETTERS, QUESTION_TYPES, TEMPLATE_VERSION, fmt_xyz



def _types_arg(value) -> Tuple[str, ...]:
    """``--types a,b`` (or a YAML list) as a tuple of names."""
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(",") if t.strip())
    return tuple(value)


MOVEMENT_DISTRACTORS = ("adjacent", "random", "task")
STATE_DISTRACTORS = ("workspace", "trajectory")


@dataclasses.dataclass
class QAConfig:
    """Settings of one ``build-qa`` run; the defaults reproduce the paper (arXiv 2506.00070: stride 10, front camera, 224x224; docs/qa.md)."""

    types: Tuple[str, ...] = opt(
        templates.DEFAULT_TYPES, f"question types, comma-separated, from "
        f"{','.join(QUESTION_TYPES)}", nargs=None, metavar="T1,T2", parse=_types_arg)
    stride: int = opt(10, "current frame every N steps", metavar="N")
    camera: str = opt("front", "camera whose image the model sees")
    image_size: Tuple[int, int] = opt((224, 224), "height and width in pixels of the image the "
                                      "model sees", metavar=("H", "W"))
    seed: int = opt(0, "seed of the one RNG", min=0)
    min_separation: float = opt(D.DEFAULT_MIN_SEPARATION, "min L2 distance in metres between any "
                                "two state options", metavar="M")
    min_move: float = opt(M.DEFAULT_MIN_MOVE, "per-axis change in metres below which an axis "
                          "does not move", metavar="M")
    workspace: Tuple[float, ...] = opt(
        tuple(D.Workspace().flat()), "reachable box for state distractors, world metres",
        nargs=6, metavar=("XMIN", "XMAX", "YMIN", "YMAX", "ZMIN", "ZMAX"))
    include_failed: bool = opt(False, "also use episodes whose demo failed")
    movement_distractors: str = opt(
        "adjacent", "how movement distractors are drawn: adjacent (the paper: the answer with one "
        "axis one step off, which the option text gives away), random (3 valid movements, "
        "uniformly), task (from the answers of this build's movement questions of the same task)",
        choices=MOVEMENT_DISTRACTORS)
    state_distractors: str = opt(
        "workspace", "how waypoint/current distractors are drawn: workspace (the paper: uniform in "
        "--workspace), trajectory (the same demo's positions: the answers of its other questions "
        "of that type, then its other frames, then the workspace; fallbacks counted in the "
        "summary)", choices=STATE_DISTRACTORS)

    def __post_init__(self):
        self.types = tuple(self.types)
        for t in self.types:
            if t not in QUESTION_TYPES:
                raise UsageError(
                    f"unknown question type '{t}'{did_you_mean(t, QUESTION_TYPES)} "
                    f"(choose from {','.join(QUESTION_TYPES)})"
                )
        if not self.types:
            raise UsageError(f"--types is empty; choose from {','.join(QUESTION_TYPES)}")
        if len(set(self.types)) != len(self.types):
            raise UsageError(f"--types lists a type twice: {','.join(self.types)}")
        if int(self.stride) < 1:
            raise UsageError(f"--stride must be a positive number of frames, got {self.stride}")
        self.stride = int(self.stride)
        size = tuple(int(v) for v in self.image_size)
        if len(size) != 2 or min(size) < 1 or max(size) > 8192:
            raise UsageError(f"--image-size takes HEIGHT WIDTH in pixels (1..8192), got {self.image_size}")
        self.image_size = size
        if not (self.min_separation >= 0):
            raise UsageError(f"--min-separation must be >= 0 m, got {self.min_separation}")
        if not (self.min_move > 0):
            raise UsageError(f"--min-move must be > 0 m, got {self.min_move}")
        self.workspace = tuple(float(v) for v in self.workspace)
        D.Workspace.from_flat(self.workspace)  # validates
        self.seed = int(self.seed)
        check_bounds(self)  # declared limits and choices, for Python callers too

    @property
    def box(self) -> D.Workspace:
        return D.Workspace.from_flat(self.workspace)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["types"] = list(self.types)
        d["image_size"] = list(self.image_size)
        d["workspace"] = list(self.workspace)
        return d

    @classmethod
    def from_yaml(cls, path: str, **overrides) -> "QAConfig":
        """Fields from YAML, then ``overrides`` (None = not given); one checked build."""
        data = read_yaml(cls, path)
        from_file = set(data) - {k for k, v in overrides.items() if v is not None}
        data.update({k: v for k, v in overrides.items() if v is not None})
        return build(cls, data, source=path, from_file=from_file)


@dataclasses.dataclass
class EpisodeView:
    """What the builder needs of one episode (low-dim only; images stay in the shard)."""

    task: str
    variation: int
    description: str
    gripper_pose: np.ndarray  # (T, 7)
    gripper_open: np.ndarray  # (T,)
    keypoints: np.ndarray  # (K,)
    image_frames: np.ndarray  # (N,) frames that have images of the chosen camera
    shard: str  # as stored in records (relative to the QA dir where possible)
    episode: str  # group path in the shard


def find_shards(inputs: Sequence[str]) -> List[Path]:
    """Shard files from files and directories (``*.h5`` searched recursively), sorted, unique."""
    from ..shard_paths import find_shards as find
    return sorted((p for p, _ in find(inputs)), key=str)


def current_frames(length: int, image_frames: np.ndarray, keypoints: np.ndarray, stride: int) -> List[int]:
    """Current frames by the sampling rule (module docstring)."""
    imgs = np.unique(np.asarray(image_frames, dtype=np.int64))
    out: List[int] = []
    for c in range(0, int(length), int(stride)):
        j = int(np.searchsorted(imgs, c, side="left"))
        if j >= len(imgs) or imgs[j] >= c + stride or imgs[j] >= length:
            continue
        f = int(imgs[j])
        if next_keypoint(keypoints, f) is None:
            break
        if not out or out[-1] != f:
            out.append(f)
    return out


def _qid(shard: str, episode: str, frame: int, qtype: str, task: str) -> str:
    h = hashlib.sha1(f"{shard}|{episode}|{frame}|{qtype}".encode("utf-8")).hexdigest()[:12]
    return f"{task}-{qtype}-{h}"


def _xyz_list(xyz) -> List[float]:
    return [float(v) for v in D.round_xyz(xyz)]


class _Stats:
    def __init__(self):
        self.counts: Dict[str, Counter] = defaultdict(Counter)  # task -> type -> n
        self.letters: Dict[str, Counter] = defaultdict(Counter)  # type -> letter -> n
        self.option_dist: Dict[str, List[float]] = defaultdict(list)  # mean pairwise per question
        self.answer_dist: Dict[str, List[float]] = defaultdict(list)  # mean answer-distractor
        self.min_sep: Dict[str, float] = {}
        self.skipped: Counter = Counter()
        self.fallbacks: Counter = Counter()  # distractors the chosen rule could not supply
        self.episodes = 0

    def add(self, rec: dict, points: Optional[List[np.ndarray]]):
        t = rec["type"]
        self.counts[rec["task"]][t] += 1
        if t in templates.MCQA_TYPES:
            self.letters[t][rec["answer"]] += 1
        if points is not None:
            pts = [np.asarray(p, float) for p in points]
            a = LETTERS.index(rec["answer"])
            pair = [float(np.abs(pts[i] - pts[j]).sum() if t == "movement" else np.linalg.norm(pts[i] - pts[j]))
                    for i in range(4) for j in range(i + 1, 4)]
            ans = [float(np.abs(pts[a] - pts[j]).sum() if t == "movement" else np.linalg.norm(pts[a] - pts[j]))
                   for j in range(4) if j != a]
            self.option_dist[t].append(float(np.mean(pair)))
            self.answer_dist[t].append(float(np.mean(ans)))
            self.min_sep[t] = min(self.min_sep.get(t, np.inf), min(pair))


def episode_movements(ep: EpisodeView, config: QAConfig) -> List[M.Code]:
    """The movement answers of ``ep``'s questions (one per current frame where the gripper moves)."""
    pose = np.asarray(ep.gripper_pose, dtype=np.float64)
    kps = np.asarray(ep.keypoints, dtype=np.int64).reshape(-1)
    if len(kps) == 0:
        return []
    out = []
    for f in current_frames(pose.shape[0], ep.image_frames, kps, config.stride):
        code = M.movement_code(pose[next_keypoint(kps, f), :3] - pose[f, :3], config.min_move)
        if code != (0, 0, 0):
            out.append(code)
    return out


def _state_distractors(qtype: str, truth, pose: np.ndarray, pools: Dict[str, np.ndarray],
                       config: QAConfig, rng: np.random.Generator, stats: _Stats) -> List[np.ndarray]:
    if config.state_distractors == "workspace":
        return D.sample_states(truth, rng, config.box, 3, config.min_separation)
    # the episode's answers of this type first (same distribution as the answer), then any of
    # its frames, then the workspace box; counted so a summary shows how often each filled in
    got, used = D.sample_from_pool(truth, [pools[qtype], pose[:, :3]], rng, 3, config.min_separation)
    if len(got) < 3:
        stats.fallbacks[f"{qtype}_from_workspace"] += 1
        return D.fill_states(truth, got, rng, config.box, 3, config.min_separation)
    if used:
        stats.fallbacks[f"{qtype}_from_other_frames"] += 1
    return got


def episode_questions(
    ep: EpisodeView,
    config: QAConfig,
    rng: np.random.Generator,
    letters: D.LetterAssigner,
    stats: Optional[_Stats] = None,
    movement_pool: Optional[Dict[str, List[M.Code]]] = None,
) -> List[dict]:
    """All questions of one episode, in deterministic order. ``movement_pool`` (task -> movement
    codes, :func:`episode_movements` over the build) is needed for ``movement_distractors = task``."""
    stats = stats if stats is not None else _Stats()
    pose = np.asarray(ep.gripper_pose, dtype=np.float64)
    gopen = np.asarray(ep.gripper_open, dtype=np.float64).reshape(-1)
    kps = np.asarray(ep.keypoints, dtype=np.int64).reshape(-1)
    T = pose.shape[0]
    if len(kps) == 0:
        stats.skipped["episodes_without_keypoints"] += 1
        return []
    actions = sft.keypoint_actions(pose, gopen, kps)
    ordered_types = [t for t in QUESTION_TYPES if t in config.types]
    records: List[dict] = []
    frames = current_frames(T, ep.image_frames, kps, config.stride)
    if len(ep.image_frames) == 0:
        stats.skipped["episodes_without_images"] += 1
    state_pools = {
        "current": pose[frames, :3] if frames else np.zeros((0, 3)),
        "waypoint": pose[[next_keypoint(kps, f) for f in frames], :3] if frames else np.zeros((0, 3)),
    }
    for f in frames:
        nk = next_keypoint(kps, f)
        step = int(np.searchsorted(kps, nk))
        cur, nxt = pose[f, :3], pose[nk, :3]
        code = M.movement_code(nxt - cur, config.min_move)
        move_label = M.label(code)
        for qtype in ordered_types:
            points = None
            options: Dict[str, str] = {}
            target: Optional[List[float]] = None
            if qtype in ("waypoint", "current"):
                truth = nxt if qtype == "waypoint" else cur
                target = _xyz_list(truth)
                letter = letters.next(qtype)
                others = _state_distractors(qtype, truth, pose, state_pools, config, rng, stats)
                options = D.arrange(letter, fmt_xyz(target), [fmt_xyz(o) for o in others])
                answer, answer_text = letter, templates.mcqa_answer(letter)
                rest = iter(others)
                points = [np.asarray(target) if k == letter else next(rest) for k in LETTERS]
            elif qtype == "movement":
                if code == (0, 0, 0):
                    stats.skipped["movement_below_min_move"] += 1
                    continue
                letter = letters.next(qtype)
                if config.movement_distractors == "random":
                    others = M.sample_uniform(code, rng, 3)
                elif config.movement_distractors == "task":
                    if movement_pool is None:
                        raise ValueError("movement_distractors='task' needs the build's movement_pool")
                    others, filled = M.sample_from_pool(code, movement_pool.get(ep.task, []), rng, 3)
                    if filled:
                        stats.fallbacks["movement_from_all_valid"] += filled
                else:
                    others = M.sample_adjacent(code, rng, 3)
                options = D.arrange(letter, M.label(code), [M.label(o) for o in others])
                answer, answer_text = letter, templates.mcqa_answer(letter)
                rest = iter(others)
                points = [np.asarray(code if k == letter else next(rest), float) for k in LETTERS]
            else:  # waypoint_open
                target = _xyz_list(nxt)
                answer = answer_text = fmt_xyz(target)
            prompt = templates.build_prompt(
                qtype, ep.description, config.camera, None if qtype == "current" else cur, options or None
            )
            rec = {
                "id": _qid(ep.shard, ep.episode, f, qtype, ep.task),
                "type": qtype,
                "task": ep.task,
                "variation": int(ep.variation),
                "shard": ep.shard,
                "episode": ep.episode,
                "frame": int(f),
                "next_keypoint": int(nk),
                "camera": config.camera,
                "image_size": list(config.image_size),
                "prompt": prompt,
                "options": options,
                "answer": answer,
                "target": target,
                "sft_direct": sft.direct_target(answer_text),
                "sft_cot": sft.cot_target(ep.description, actions, step, move_label, cur, nxt, answer_text),
                "template_version": TEMPLATE_VERSION,
            }
            records.append(rec)
            stats.add(rec, points)
    return records


def _read_episode(reader, ep: str, camera: str) -> Tuple[dict, Optional[dict]]:
    """Attributes and low-dim arrays of one episode; arrays None when the camera is missing."""
    attrs = reader.attrs(ep)
    cams = attrs.get("cameras")
    key = f"{camera}_rgb"
    if cams is not None and camera not in cams and key not in cams:
        return attrs, None
    arrays = {}
    try:
        for name in ("gripper_pose", "gripper_open", "keypoints", "image_frames"):
            arrays[name] = np.asarray(reader.low_dim(ep, name))
    except (UsageError, KeyError):  # a reader without index fields in low_dim: load the episode
        e = reader.load(ep, images=False)
        arrays = {
            "gripper_pose": e.gripper_pose,
            "gripper_open": e.gripper_open,
            "keypoints": e.keypoints,
            "image_frames": e.image_frames,
        }
    return attrs, arrays


def _shard_ref(path: Path, out_dir: Path) -> str:
    """How a record names its shard: relative to the QA dir when possible, else absolute."""
    absolute = os.path.abspath(path)
    try:
        return Path(os.path.relpath(absolute, os.path.abspath(out_dir))).as_posix()
    except ValueError:  # different drives (Windows)
        return Path(absolute).as_posix()


def build_qa(shards: Sequence[str], out_dir: str, config: Optional[QAConfig] = None, log=print) -> dict:
    """Build ``out_dir/questions.jsonl`` and ``out_dir/summary.json``; return the summary."""
    from ..shards import ShardReader  # imported here: the QA rules above need no HDF5

    config = config or QAConfig()
    paths = find_shards(shards)
    out = output_dir(out_dir, "QA directory")
    rng = np.random.default_rng(config.seed)
    letters = D.LetterAssigner(rng)
    stats = _Stats()
    records: List[dict] = []
    shard_refs = []
    per_shard: List[Tuple[Path, List[EpisodeView]]] = []
    for path in paths:
        ref = _shard_ref(path, out)
        shard_refs.append(ref)
        views: List[EpisodeView] = []
        with ShardReader(str(path)) as reader:
            for ep in sorted(reader.episodes):
                attrs, arrays = _read_episode(reader, ep, config.camera)
                if not attrs.get("success", True) and not config.include_failed:
                    stats.skipped["failed_episodes"] += 1
                    continue
                if arrays is None:
                    stats.skipped["episodes_without_camera"] += 1
                    continue
                descriptions = attrs.get("descriptions") or [str(attrs.get("task", "")).replace("_", " ")]
                views.append(EpisodeView(
                    task=str(attrs.get("task")),
                    variation=int(attrs.get("variation", 0)),
                    description=str(descriptions[0]),
                    gripper_pose=arrays["gripper_pose"],
                    gripper_open=arrays["gripper_open"],
                    keypoints=arrays["keypoints"],
                    image_frames=arrays["image_frames"],
                    shard=ref,
                    episode=ep,
                ))
        per_shard.append((path, views))
    # Low-dim arrays of every episode are read first (small) so that a rule drawing on the whole
    # build (movement_distractors = task) sees it all before the first draw; the draws then run
    # in the same order as always, so the default rules give the same bytes.
    movement_pool: Optional[Dict[str, List[M.Code]]] = None
    if config.movement_distractors == "task" and "movement" in config.types:
        movement_pool = defaultdict(list)
        for _, views in per_shard:
            for view in views:
                movement_pool[view.task].extend(episode_movements(view, config))
    for path, views in per_shard:
        before = len(records)
        for view in views:
            stats.episodes += 1
            records.extend(episode_questions(view, config, rng, letters, stats, movement_pool))
        log(f"{path}: {len(records) - before} questions")
    if not records:
        why = ", ".join(f"{k}={v}" for k, v in sorted(stats.skipped.items())) or "no usable frames"
        raise UsageError(
            f"no questions built from {len(paths)} shard(s) ({why}); check --camera "
            f"'{config.camera}' was recorded, that episodes succeeded, and --stride"
        )
    # The two files are one unit: BUILDING_FILE marks the store incomplete until both are
    # written, and the summary carries the questions' sha256, so a reader refuses a store a
    # kill left half-written (store.check_complete) instead of reading disagreeing files.
    atomic_write_text(out / BUILDING_FILE, "build-qa is writing this store\n")
    write_records(out / QUESTIONS_FILE, records)
    summary = make_summary(records, stats, config, shard_refs)
    summary["questions_sha256"] = file_sha256(out / QUESTIONS_FILE)
    atomic_write_text(out / SUMMARY_FILE, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    (out / BUILDING_FILE).unlink()
    fsync_dir(out)
    log(format_summary(summary))
    return summary


def dumps_record(rec: dict) -> str:
    return json.dumps(rec, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)


def write_records(path: Path, records: Iterable[dict]) -> None:
    """Write JSON Lines atomically (readers see the old file or the whole new one)."""
    atomic_write_text(Path(path), "".join(dumps_record(r) + "\n" for r in records))


def make_summary(records: List[dict], stats: _Stats, config: QAConfig, shard_refs: List[str]) -> dict:
    by_type = Counter(r["type"] for r in records)
    letters = {}
    for t, c in sorted(stats.letters.items()):
        n = sum(c.values())
        letters[t] = {k: {"count": c.get(k, 0), "share": round(c.get(k, 0) / n, 4) if n else 0.0} for k in LETTERS}
    dist = {}
    for t in sorted(stats.option_dist):
        dist[t] = {
            "unit": "movement code steps (L1)" if t == "movement" else "m (L2)",
            "mean_pairwise": round(float(np.mean(stats.option_dist[t])), 4),
            "mean_answer_to_distractor": round(float(np.mean(stats.answer_dist[t])), 4),
            "min_pairwise": round(float(stats.min_sep[t]), 4),
        }
    return {
        "template_version": TEMPLATE_VERSION,
        "config": config.to_dict(),
        "image_size": list(config.image_size),
        "shards": shard_refs,
        "episodes": stats.episodes,
        "num_questions": len(records),
        "questions_by_type": dict(sorted(by_type.items())),
        "questions_by_task": {task: dict(sorted(c.items())) for task, c in sorted(stats.counts.items())},
        "letter_balance": letters,
        "option_distance": dist,
        "skipped": dict(sorted(stats.skipped.items())),
        "distractor_fallbacks": dict(sorted(stats.fallbacks.items())),
    }


def format_summary(summary: dict) -> str:
    """The printed table: questions per task and type, letter balance, option distances."""
    types = [t for t in QUESTION_TYPES if t in summary["questions_by_type"]]
    w = max([len("task")] + [len(t) for t in summary["questions_by_task"]]) + 2
    cols = types + ["total"]
    lines = [f"QA build ({summary['template_version']}): {summary['num_questions']} questions "
             f"from {summary['episodes']} episodes in {len(summary['shards'])} shard(s)"]
    lines.append("task".ljust(w) + "".join(c.rjust(15) for c in cols))
    for task, c in summary["questions_by_task"].items():
        lines.append(task.ljust(w) + "".join(str(c.get(t, 0)).rjust(15) for t in types)
                     + str(sum(c.values())).rjust(15))
    lines.append("all".ljust(w) + "".join(str(summary["questions_by_type"].get(t, 0)).rjust(15) for t in types)
                 + str(summary["num_questions"]).rjust(15))
    if summary["letter_balance"]:
        lines.append("letter balance (share of answers):")
        for t, c in summary["letter_balance"].items():
            lines.append(f"  {t:<14}" + "  ".join(f"{k} {v['share'] * 100:5.1f}%" for k, v in c.items()))
    if summary["option_distance"]:
        lines.append("distance between options (mean pairwise / answer-to-distractor / min):")
        for t, d in summary["option_distance"].items():
            lines.append(f"  {t:<14}{d['mean_pairwise']:.3f} / {d['mean_answer_to_distractor']:.3f} / "
                         f"{d['min_pairwise']:.3f} {d['unit']}")
    if summary.get("distractor_fallbacks"):
        lines.append("distractors the chosen rule could not supply (filled by the next source): "
                     + ", ".join(f"{k}={v}" for k, v in summary["distractor_fallbacks"].items()))
    if summary["skipped"]:
        lines.append("skipped: " + ", ".join(f"{k}={v}" for k, v in summary["skipped"].items()))
    return "\n".join(lines)
