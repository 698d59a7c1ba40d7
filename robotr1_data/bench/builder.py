"""Build Robot-R1 Bench from shards (``robotr1-data build-bench``; docs/bench.md).

Rules:

- Episodes: successful ones (``--include-failed`` keeps the rest) holding the camera's images, in
  shard then episode order. Candidate frames: every frame with an image before the expert's last
  waypoint. Each candidate gives one question of each type (planning, high-level action,
  movement, spatial) unless its reference would be ambiguous: no axis moves (movement), no named
  object, no relation clear of the margin, or two distances within the margin (spatial). Those
  are skipped and counted in ``summary.json``.
- Sampling: per type, up to ``per_type`` questions spread over tasks (round robin), and within a
  task over episodes and phases (the plan step in progress): every (episode, phase) pair is used
  once, in random order, before any is used twice.
- One ``numpy.random.Generator`` seeded from ``seed`` drives every draw (spatial pairs, then the
  per-type shuffles), consumed in that fixed order: same shards and seed, same bench.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from robotr1_data.errors import UsageError, did_you_mean, output_dir
from robotr1_data.keypoints import next_keypoint
from robotr1_data.qa import movement as M
from robotr1_data.qa.builder import _shard_ref, dumps_record, find_shards
from robotr1_data.files import atomic_write_text
from robotr1_data.qa.store import QUESTIONS_FILE, SUMMARY_FILE, resize

from . import facts as F
from . import templates as T

IMAGES_DIR = "images"
LOW_DIM = ("gripper_pose", "gripper_open", "keypoints", "planner_keypoints", "task_low_dim_state",
           "image_frames")


@dataclasses.dataclass
class BenchConfig:
    """Settings of one ``build-bench`` run."""

    shards: Tuple[str, ...] = dataclasses.field(default=(), metadata={
        "help": "shard files or directories (*.h5, searched recursively)", "positional": True,
        "nargs": "+", "metavar": "SHARDS"})
    out: str = dataclasses.field(default="", metadata={
        "help": "output directory of the bench store", "required": True, "metavar": "BENCH"})
    per_type: int = dataclasses.field(default=50, metadata={
        "help": "questions per type (fewer when the shards hold fewer usable frames)", "metavar": "N"})
    seed: int = dataclasses.field(default=0, metadata={"help": "seed of the one RNG", "metavar": "S"})
    camera: str = dataclasses.field(default="front", metadata={"help": "camera whose image the model sees"})
    image_size: Tuple[int, int] = dataclasses.field(default=(224, 224), metadata={
        "help": "image height and width in pixels", "metavar": ("H", "W")})
    min_move: float = dataclasses.field(default=M.DEFAULT_MIN_MOVE, metadata={
        "help": "per-axis change in metres below which an axis does not move (as build-qa)", "metavar": "M"})
    margin: float = dataclasses.field(default=0.03, metadata={
        "help": "metres: a spatial relation needs |delta| >= margin on its axis; two distances "
                "closer than this are a tie (skipped)", "metavar": "M"})
    include_failed: bool = dataclasses.field(default=False, metadata={
        "help": "also use episodes whose demo failed"})
    quiet: bool = dataclasses.field(default=False, metadata={"help": "print only errors"})

    def validate(self) -> "BenchConfig":
        from robotr1_data.episode import CAMERAS

        self.shards = tuple(self.shards)
        if not self.shards:
            raise UsageError("build-bench needs at least one shard file or directory")
        if not self.out:
            raise UsageError("build-bench needs --out BENCH, the output directory")
        if int(self.per_type) < 1:
            raise UsageError(f"--per-type must be a positive number of questions, got {self.per_type}")
        self.per_type, self.seed = int(self.per_type), int(self.seed)
        if self.camera not in CAMERAS:
            raise UsageError(f"unknown camera '{self.camera}'{did_you_mean(self.camera, CAMERAS)} "
                             f"(choose from {', '.join(CAMERAS)})")
        size = tuple(int(v) for v in self.image_size)
        if len(size) != 2 or min(size) < 1 or max(size) > 8192:
            raise UsageError(f"--image-size takes HEIGHT WIDTH in pixels (1..8192), got {self.image_size}")
        self.image_size = size  # type: ignore[assignment]
        if not self.min_move > 0:
            raise UsageError(f"--min-move must be > 0 m, got {self.min_move}")
        if not self.margin > 0:
            raise UsageError(f"--margin must be > 0 m, got {self.margin}")
        return self

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("quiet")
        d.pop("out")
        d["shards"] = list(self.shards)
        d["image_size"] = list(self.image_size)
        return d


@dataclasses.dataclass
class Candidate:
    task: str
    type: str
    episode_key: Tuple[str, str]  # (shard ref, group)
    phase: int
    record: dict


def _frame_key(shard: str, seed, episode: str, frame: int) -> str:
    """Names a frame independently of where the bench is written (ids and image names)."""
    p = Path(shard)
    return f"{p.parent.name}/{p.name}|{seed}|{episode}|{frame}"


def _qid(frame_key: str, key: str, task: str, qtype: str) -> str:
    h = hashlib.sha1(f"{frame_key}|{key}".encode("utf-8")).hexdigest()[:12]
    return f"{task}-{qtype}-{h}"


def episode_candidates(arrays: Dict[str, np.ndarray], attrs: dict, shard: str, episode: str,
                       config: BenchConfig, rng: np.random.Generator, skipped: Counter) -> List[Candidate]:
    """Every question one episode offers, with its facts (deterministic given ``rng``'s state)."""
    task = str(attrs.get("task"))
    variation = int(attrs.get("variation", 0))
    descriptions = list(attrs.get("descriptions") or [task.replace("_", " ")])
    pose = np.asarray(arrays["gripper_pose"], float)
    gopen = np.asarray(arrays["gripper_open"], float).reshape(-1)
    kps = np.asarray(arrays["keypoints"], np.int64).reshape(-1)
    pk = np.asarray(arrays["planner_keypoints"], np.int64).reshape(-1)
    low = np.asarray(arrays["task_low_dim_state"], float)
    low = low.reshape(len(pose), -1) if low.size else np.zeros((len(pose), 0))
    if len(pk) == 0:
        skipped["episodes_without_plan"] += 1
        return []
    width = low.shape[1]
    names = F.object_names(task, variation, descriptions, width // 3) if width % 3 == 0 else []
    cls = F.task_class(task)
    task_steps = cls.step_names(variation, descriptions) if cls is not None else None
    steps = F.plan(pose, gopen, pk, low, names, task_steps, config.min_move)
    base = {"task": task, "variation": variation, "description": descriptions[0], "shard": shard,
            "episode": episode, "demo_seed": attrs.get("seed"), "camera": config.camera,
            "image_size": list(config.image_size), "bench_version": T.BENCH_VERSION}
    out: List[Candidate] = []
    frames = [int(f) for f in np.unique(arrays["image_frames"]) if 0 <= f < pk[-1]]
    for f in frames:
        s = F.current_step(pk, f)
        if s is None:
            continue
        cur = pose[f, :3]
        cur_list = [round(float(v), 4) for v in cur]
        objects = F.objects_at(low[f], names) if width else {}

        def add(qtype: str, key: str, prompt: str, reference: str, fact: dict) -> None:
            qid = _qid(_frame_key(shard, base["demo_seed"], episode, f), key, task, qtype)
            rec = {"id": qid, "type": qtype, **base, "frame": f, "prompt": prompt, "reference": reference,
                   "facts": {"gripper_xyz": cur_list, "gripper_open": bool(gopen[f] > 0.5), **fact}}
            out.append(Candidate(task, qtype, (shard, episode), s, rec))

        remaining = steps[s:]
        plan_text = T.PLAN_JOIN.join(T.PLAN_STEP.format(i=i + 1, name=st["name"])
                                     for i, st in enumerate(remaining))
        plan_facts = {"plan": steps, "current_step": s + 1}
        add("planning", "planning", T.prompt("planning", descriptions[0], config.camera, cur), plan_text, plan_facts)
        add("high_level", "high_level", T.prompt("high_level", descriptions[0], config.camera, cur),
            steps[s]["name"], plan_facts)

        nk = next_keypoint(kps, f)
        if nk is not None:
            delta = pose[nk, :3] - cur
            code = M.movement_code(delta, config.min_move)
            if code == (0, 0, 0):
                skipped["movement_no_motion"] += 1
            else:
                add("movement", "movement", T.prompt("movement", descriptions[0], config.camera, cur), M.label(code),
                    {"next_keypoint": int(nk), "next_xyz": [round(float(v), 4) for v in pose[nk, :3]],
                     "delta": [round(float(v), 4) for v in delta], "code": list(code),
                     "min_move": config.min_move})
        _spatial(add, objects, cur, descriptions[0], config, rng, skipped)
    return out


def _spatial(add, objects: Dict[str, List[float]], gripper, description: str, config: BenchConfig,
             rng: np.random.Generator, skipped: Counter) -> None:
    """One spatial question for the frame: the closer of two objects to the gripper (when two are
    named, half the time) or where one thing is relative to another."""
    if not objects:
        skipped["spatial_no_named_object"] += 1
        return
    names = sorted(objects)
    entities = {**objects, T.GRIPPER_NAME: [float(v) for v in gripper]}
    facts = {"objects": {n: _r4(p) for n, p in objects.items()}, "margin": config.margin}
    if len(names) >= 2 and rng.random() < 0.5:
        i, j = rng.choice(len(names), size=2, replace=False)
        a, b = names[int(i)], names[int(j)]
        da = float(np.linalg.norm(np.asarray(objects[a]) - gripper))
        db = float(np.linalg.norm(np.asarray(objects[b]) - gripper))
        if abs(da - db) < config.margin:
            skipped["spatial_equal_distances"] += 1
            return
        near, far, dn, dfar = (a, b, da, db) if da < db else (b, a, db, da)
        add("spatial", f"closer|{a}|{b}", T.prompt("spatial_closer", description, config.camera, gripper, a=a, b=b),
            T.sentence(T.CLOSER.format(a=near, b=far, da=dn, db=dfar)),
            {**facts, "kind": "closer", "asked": [a, b], "closer": near,
             "distances": {a: round(da, 4), b: round(db, 4)}})
        return
    pool = sorted(entities)
    a = names[int(rng.integers(len(names)))]
    others = [n for n in pool if n != a]
    b = others[int(rng.integers(len(others)))]
    rel = F.relations(entities[a], entities[b], config.margin)
    words = F.relation_words(rel["axes"])
    if not words:
        skipped["spatial_no_clear_relation"] += 1
        return
    text = T.RELATION.format(a=a, b=b, relations=T.join_relations(words), distance=rel["distance"])
    add("spatial", f"relation|{a}|{b}", T.prompt("spatial_relation", description, config.camera, gripper, a=a, b=b),
        T.sentence(text), {**facts, "kind": "relation", "a": a, "b": b, "a_xyz": _r4(entities[a]),
                                     "b_xyz": _r4(entities[b]), **rel})


def _r4(xyz) -> List[float]:
    return [round(float(v), 4) for v in xyz]


def select(cands: Sequence[Candidate], n: int, rng: np.random.Generator) -> List[Candidate]:
    """Up to ``n`` candidates spread over tasks, episodes and phases (module docstring)."""
    by_task: Dict[str, List[Candidate]] = defaultdict(list)
    for c in cands:
        by_task[c.task].append(c)
    queues = []
    for task in sorted(by_task):
        items = by_task[task]
        seen: Counter = Counter()
        ranked = []
        for order, i in enumerate(rng.permutation(len(items))):
            c = items[int(i)]
            key = (c.episode_key, c.phase)
            ranked.append((seen[key], order, c))
            seen[key] += 1
        ranked.sort(key=lambda t: (t[0], t[1]))
        queues.append([c for _, _, c in ranked])
    out: List[Candidate] = []
    depth = 0
    while len(out) < n and any(depth < len(q) for q in queues):
        for q in queues:
            if depth < len(q) and len(out) < n:
                out.append(q[depth])
        depth += 1
    return out


def _read(reader, ep: str) -> Dict[str, np.ndarray]:
    return {k: np.asarray(reader.low_dim(ep, k)) for k in LOW_DIM}


def build_bench(config: BenchConfig, log=print) -> dict:
    """Write ``out/questions.jsonl``, ``out/images/*.png`` and ``out/summary.json``; return the summary."""
    import cv2

    from robotr1_data.shards import ShardReader

    config.validate()
    paths = find_shards(config.shards)
    out = output_dir(config.out, "bench directory")
    rng = np.random.default_rng(config.seed)
    skipped: Counter = Counter()
    cands: List[Candidate] = []
    refs, episodes = [], 0
    for path in paths:
        ref = _shard_ref(path, out)
        refs.append(ref)
        with ShardReader(str(path)) as reader:
            for ep in sorted(reader.episodes):
                attrs = reader.attrs(ep)
                if not attrs.get("success", True) and not config.include_failed:
                    skipped["failed_episodes"] += 1
                    continue
                cams = attrs.get("cameras") or []
                if config.camera not in cams:
                    skipped["episodes_without_camera"] += 1
                    continue
                episodes += 1
                cands.extend(episode_candidates(_read(reader, ep), attrs, ref, ep, config, rng, skipped))
    ids = Counter(c.record["id"] for c in cands)
    dup = next((i for i, n in ids.items() if n > 1), None)
    if dup is not None:
        raise UsageError(f"two shards hold the same demo (question {dup}; copies of one dataset?); "
                         "pass each dataset once")
    chosen: List[Candidate] = []
    available = Counter(c.type for c in cands)
    for qtype in T.BENCH_TYPES:
        chosen.extend(select([c for c in cands if c.type == qtype], config.per_type, rng))
    if not chosen:
        why = ", ".join(f"{k}={v}" for k, v in sorted(skipped.items())) or "no usable frames"
        raise UsageError(f"no bench questions from {len(paths)} shard(s) ({why}); check --camera "
                         f"'{config.camera}' was recorded and that episodes succeeded")
    images = out / IMAGES_DIR
    images.mkdir(exist_ok=True)
    written = set()
    records = []
    by_frame: Dict[Tuple[str, str, int], List[dict]] = defaultdict(list)
    for c in chosen:
        r = c.record
        fk = _frame_key(r["shard"], r["demo_seed"], r["episode"], r["frame"])
        key = hashlib.sha1(f"{fk}|{config.camera}".encode()).hexdigest()[:16]
        r["image"] = f"{IMAGES_DIR}/{r['task']}-{key}.png"
        by_frame[(r["shard"], r["episode"], r["frame"])].append(r)
        records.append(r)
    for shard in sorted({k[0] for k in by_frame}):
        path = Path(shard) if Path(shard).is_absolute() else out / shard
        with ShardReader(str(path)) as reader:
            for (s, ep, f), recs in sorted(by_frame.items()):
                if s != shard:
                    continue
                img = resize(np.asarray(reader.frame(ep, f"{config.camera}_rgb", f)), config.image_size)
                name = recs[0]["image"]
                tmp = out / f".{Path(name).name}.{os.getpid()}.tmp.png"
                if not cv2.imwrite(str(tmp), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
                    raise UsageError(f"cannot write {out / name}; check the directory is writable")
                os.replace(tmp, out / name)
                written.add(Path(name).name)
    for old in images.glob("*.png"):  # images of an earlier build that this one does not use
        if old.name not in written:
            old.unlink()
    atomic_write_text(out / QUESTIONS_FILE, "".join(dumps_record(r) + "\n" for r in records))
    summary = {
        "bench_version": T.BENCH_VERSION,
        "config": config.to_dict(),
        "shards": refs,
        "episodes": episodes,
        "num_questions": len(records),
        "questions_by_type": {t: sum(1 for r in records if r["type"] == t) for t in T.BENCH_TYPES},
        "candidates_by_type": {t: available.get(t, 0) for t in T.BENCH_TYPES},
        "questions_by_task": {task: dict(sorted(Counter(r["type"] for r in records if r["task"] == task).items()))
                              for task in sorted({r["task"] for r in records})},
        "step_names": {task: sorted({r["facts"]["plan"][0]["named_by"] for r in records
                                     if r["task"] == task and "plan" in r["facts"]})
                       for task in sorted({r["task"] for r in records})},
        "skipped": dict(sorted(skipped.items())),
    }
    atomic_write_text(out / SUMMARY_FILE, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    if not config.quiet:
        log(format_summary(summary))
    return summary


def format_summary(summary: dict) -> str:
    types = list(T.BENCH_TYPES)
    w = max([len("task")] + [len(t) for t in summary["questions_by_task"]]) + 2
    lines = [f"Robot-R1 Bench ({summary['bench_version']}): {summary['num_questions']} questions from "
             f"{summary['episodes']} episodes in {len(summary['shards'])} shard(s)",
             "task".ljust(w) + "".join(t.rjust(12) for t in types)]
    for task, c in summary["questions_by_task"].items():
        lines.append(task.ljust(w) + "".join(str(c.get(t, 0)).rjust(12) for t in types))
    lines.append("all".ljust(w) + "".join(str(summary["questions_by_type"][t]).rjust(12) for t in types))
    lines.append("candidates".ljust(w) + "".join(str(summary["candidates_by_type"][t]).rjust(12) for t in types))
    if summary["skipped"]:
        lines.append("skipped (ambiguous or unusable): "
                     + ", ".join(f"{k}={v}" for k, v in summary["skipped"].items()))
    return "\n".join(lines)


def read_bench(bench: str) -> Tuple[List[dict], dict]:
    """(records, summary) of a bench store, or a UsageError naming the fix."""
    from robotr1_data.qa.store import read_records

    p = Path(bench)
    if not (p / QUESTIONS_FILE).is_file() or not (p / SUMMARY_FILE).is_file():
        raise UsageError(f"'{bench}' is not a bench store (needs {QUESTIONS_FILE} and {SUMMARY_FILE}); "
                         f"build one with robotr1-data build-bench SHARDS --out {bench}")
    records = read_records(p)
    with open(p / SUMMARY_FILE, encoding="utf-8") as fh:
        summary = json.load(fh)
    bad = [r.get("id") for r in records if r.get("type") not in T.BENCH_TYPES or "reference" not in r]
    if bad:
        raise UsageError(f"{p / QUESTIONS_FILE}: question {bad[0]} is not a bench question (a QA store?); "
                         "build the bench with robotr1-data build-bench")
    return records, summary


def load_image(record: dict, bench: str) -> np.ndarray:
    """The record's image as (H, W, 3) uint8 RGB."""
    import cv2

    path = Path(bench) / record["image"]
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise UsageError(f"image {path} of question {record.get('id')} is missing or unreadable; rebuild the bench")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
