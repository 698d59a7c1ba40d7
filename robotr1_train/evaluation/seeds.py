"""Evaluation seeds, disjoint from training data by construction and by check.

Training demos use ``SeedSequence([seed, crc32(task), episode, attempt])`` (robotr1_data.record);
evaluation episodes use ``SeedSequence([seed, crc32(task), episode, EVAL_STREAM])`` where the
fourth word is a marker no attempt counter reaches. :func:`check_overlap` also compares the actual
seeds: those stored in training shards (each episode's ``seed`` attribute) and every attempt seed
the shards' generator config could have drawn, per task.
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set

import numpy as np

from robotr1_data.record import episode_seed, seed_int

EVAL_STREAM = 0x6576616C  # b"eval": a fourth seed word far beyond any attempt number


def eval_episode_seed(seed: int, task: str, episode: int) -> int:
    """The simulator seed of evaluation episode ``episode`` of ``task`` (worker-independent)."""
    seq = np.random.SeedSequence([int(seed), zlib.crc32(task.encode()), int(episode), EVAL_STREAM])
    return seed_int(seq)


def qa_dir_of_run(run_dir: str) -> Optional[Path]:
    """The QA store a ``robotr1-train`` run trained on: RUN_DIR/config.yaml -> run.qa. None
    when any link is missing."""
    import yaml

    run = Path(run_dir)
    cfg_path = next((p / "config.yaml" for p in (run, run.parent) if (p / "config.yaml").is_file()), None)
    if cfg_path is None:
        return None
    try:
        cfg = yaml.safe_load(cfg_path.read_text()) or {}
    except Exception:  # noqa: BLE001 - an unreadable config only means "cannot check"
        return None
    qa = (cfg.get("run") or {}).get("qa") if isinstance(cfg, dict) else None
    if not qa:
        return None
    return next((Path(c) for c in (qa, cfg_path.parent / qa) if Path(c).is_dir()), None)


def shards_of_run(run_dir: str) -> List[str]:
    """Training shards behind a ``robotr1-train`` run: its QA store (:func:`qa_dir_of_run`) ->
    the store's summary (or records) -> shard paths. Empty when any link is missing."""
    qa_dir = qa_dir_of_run(run_dir)
    if qa_dir is None:
        return []
    refs: Iterable[str] = []
    try:
        from robotr1_data.qa.store import read_records, read_summary

        try:
            refs = read_summary(qa_dir).get("shards") or []
        except Exception:  # noqa: BLE001
            refs = sorted({r["shard"] for r in read_records(qa_dir) if "shard" in r})
    except Exception:  # noqa: BLE001
        return []
    out = []
    for ref in refs:
        p = Path(ref)
        out.append(str(p if p.is_absolute() else qa_dir / p))
    return out


def training_seeds(paths: Sequence[str]) -> dict:
    """Seeds per task found in shard files/directories: ``{"seeds": {task: set}, "shards": n,
    "episodes": n, "config_seeds": [...], "missing": [...], "views": [...], "render_sizes": [...]}``;
    ``views``: each distinct tessellation the shards store, with its shard count; ``render_sizes``:
    each distinct image size they were rendered at (``image_size``, None when not stored), with
    its shard count (``view_check``)."""
    from robotr1_data.shards import ShardReader

    seeds: Dict[str, Set[int]] = {}
    files, missing = [], []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*.h5") if q.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            missing.append(str(item))
    episodes, config_seeds, views, sizes = 0, set(), {}, {}
    for f in files:
        try:
            with ShardReader(f) as r:
                cfg = r.config
                tess = cfg.get("tessellation")  # absent: the model's own (generate's default)
                key = None if not tess else tuple(int(v) for v in tess)
                views[key] = views.get(key, 0) + 1
                size = cfg.get("image_size")
                size = tuple(int(v) for v in size) if size else None
                sizes[size] = sizes.get(size, 0) + 1
                attempts = int(cfg.get("max_attempts", 10) or 10)
                for ep in r.episodes:
                    a = r.attrs(ep)
                    task = str(a.get("task"))
                    s = seeds.setdefault(task, set())
                    if "seed" in a:
                        s.add(int(a["seed"]))
                    e = (a.get("extra") or {}).get("episode_index")
                    if "seed" in cfg and e is not None:
                        config_seeds.add(int(cfg["seed"]))
                        s.update(seed_int(episode_seed(int(cfg["seed"]), task, int(e), k))
                                 for k in range(attempts))
                    episodes += 1
        except Exception as exc:  # noqa: BLE001 - a bad file is reported, not fatal
            missing.append(f"{f} ({type(exc).__name__}: {exc})")
    return {"seeds": seeds, "shards": len(files), "episodes": episodes,
            "config_seeds": sorted(config_seeds), "missing": missing,
            "views": [{"tessellation": None if k is None else list(k), "shards": n}
                      for k, n in views.items()],
            "render_sizes": [{"image_size": None if k is None else list(k), "shards": n}
                             for k, n in sizes.items()]}


def check_overlap(eval_seeds: Dict[str, List[int]], train_data: Sequence[str] = (),
                  run_dirs: Sequence[str] = (), warn=None) -> dict:
    """Compare evaluation seeds (task -> seeds) with the training data's; warn on overlap.

    ``train_data``: shard files or directories (``--train-data``); ``run_dirs``: VLM run
    directories whose recorded QA store leads to the shards. Returns a JSON-able report.
    """
    warn = warn or (lambda msg: print(f"warning: {msg}", file=sys.stderr, flush=True))
    sources = list(train_data)
    for run in run_dirs:
        found = shards_of_run(run)
        if not found:
            warn(f"cannot find the training shards of '{run}' (config.yaml -> run.qa -> QA summary); "
                 "pass --train-data DIR to check eval seeds against them")
        sources.extend(found)
    report = {"sources": [os.fspath(s) for s in sources], "checked": False, "shards": 0,
              "training_episodes": 0, "overlap": [], "missing": []}
    if not sources:
        warn("no training data given (--train-data DIR, or a vlm:RUN_DIR with its QA store); "
             "eval seeds are disjoint from training seeds by construction but were not checked")
        return report
    found = training_seeds(sources)
    report.update(checked=found["shards"] > 0, shards=found["shards"], training_episodes=found["episodes"],
                  training_config_seeds=found["config_seeds"], missing=found["missing"],
                  training_views=found["views"], training_render_sizes=found["render_sizes"])
    for m in found["missing"]:
        warn(f"training data '{m}' not found or unreadable; seeds from it were not checked")
    for task, seeds in eval_seeds.items():
        train = found["seeds"].get(task, set())
        for i, s in enumerate(seeds):
            if s in train:
                report["overlap"].append({"task": task, "episode": i, "seed": int(s)})
    if report["overlap"]:
        first = report["overlap"][0]
        warn(f"{len(report['overlap'])} evaluation episode(s) reuse a training seed (first: {first['task']} "
             f"episode {first['episode']}, seed {first['seed']}); those scenes were seen in training")
    return report
