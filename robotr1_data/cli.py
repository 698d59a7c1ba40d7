"""``robotr1-data``: generate demos, list tasks, inspect and validate shards, build questions.

Bad input exits with code 2 and one line that says what to do (UsageError); nothing already
written is removed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from robotr1_data.errors import UsageError


def _cameras(values: List[str]) -> List[str]:
    if values == ["none"] or values == []:
        return []
    if values == ["all"]:
        from robotr1_data.episode import CAMERAS
        return list(CAMERAS)
    return values


def cmd_generate(args) -> int:
    from robotr1_data.generate import GenerateConfig, format_summary, generate
    cfg = GenerateConfig(tasks=args.tasks, episodes=args.episodes, out=args.out, seed=args.seed,
                         cameras=_cameras(args.cameras), image_size=tuple(args.image_size),
                         variation=args.variation, image_every=args.image_every,
                         episodes_per_shard=args.episodes_per_shard,
                         max_attempts=args.max_attempts, workers=args.workers,
                         render_quality=args.render_quality, backend=args.backend,
                         depth=not args.no_depth, mask=not args.no_mask, ray=args.ray)
    per_task = generate(cfg, show_progress=not args.quiet)
    print(format_summary(per_task))
    print(f"wrote {cfg.out}/ (manifest.json, summary.json)")
    return 0


def cmd_list_tasks(args) -> int:
    from robotr1_data.tasks.registry import all_tasks
    rows = []
    for name, (cls, source) in all_tasks().items():
        try:
            from robotr1_data.sim.mujoco_sim import MujocoSim
            with MujocoSim(cls) as sim:
                count = sim.task.variation_count()
                desc = sim.reset(0, __import__("numpy").random.default_rng(0))[0]
        except Exception as exc:  # a broken plugin task still gets listed
            count, desc = "?", f"(failed to load: {exc})"
        rows.append((name, str(count), desc, source))
    widths = [max(len(r[i]) for r in rows + [("task", "variations", "description", "source")])
              for i in range(4)]
    head = ("task", "variations", "description (variation 0)", "source")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    return 0


def cmd_inspect(args) -> int:
    from robotr1_data.shards import describe
    path = Path(args.file)
    if not path.exists():
        raise UsageError(f"'{path}' does not exist; pass a shard (.h5) or a dataset directory")
    print(describe(path))
    return 0


def cmd_validate(args) -> int:
    from robotr1_data.shards import validate_dir
    path = Path(args.dir)
    if not path.exists():
        raise UsageError(f"'{path}' does not exist; pass a dataset directory or a shard file")
    problems = validate_dir(path, full=args.full)
    if problems:
        print(f"{len(problems)} problem(s) in {path}:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"{path}: valid")
    return 0


def cmd_contact_sheet(args) -> int:
    from robotr1_data.contact_sheet import contact_sheet
    from robotr1_data.qa.builder import find_shards
    shards = find_shards(args.shards)
    if not shards:
        raise UsageError(f"no .h5 shards found in {args.shards}")
    print(contact_sheet(shards, Path(args.out), camera=args.camera))
    return 0


def cmd_demo(args) -> int:
    from robotr1_data.demo import run_demo
    return run_demo(args.out, episodes=args.episodes, seed=args.seed, workers=args.workers)


def cmd_render(args) -> int:
    from robotr1_data.render import RenderConfig, render
    cfg = RenderConfig(shards=args.shards, out=args.out, cameras=_cameras(args.cameras),
                       image_size=tuple(args.image_size), rgb=not args.no_rgb,
                       depth=not args.no_depth, mask=not args.no_mask,
                       render_quality=args.render_quality, image_every=args.image_every,
                       workers=args.workers)
    results = render(cfg, show_progress=not args.quiet)
    eps = sum(r["episodes"] for r in results)
    kept = sum(1 for r in results if r.get("skipped"))
    print(f"rendered {eps} episodes in {len(results)} shard(s)"
          + (f" ({kept} already complete, kept)" if kept else "") + f"; wrote {cfg.out}/")
    return 0


def cmd_import_rlbench(args) -> int:
    from robotr1_data.rlbench_io.importer import import_rlbench
    summary = import_rlbench(args.root, args.out, tasks=args.tasks,
                             episodes_per_shard=args.episodes_per_shard)
    for task, n in sorted(summary["episodes"].items()):
        print(f"  {task}: {n} episodes")
    print(f"imported {sum(summary['episodes'].values())} episodes ({summary['layout']} layout) "
          f"into {args.out}/ (manifest.json)")
    return 0


def cmd_export_rlbench(args) -> int:
    from robotr1_data.rlbench_io.exporter import export_rlbench
    summary = export_rlbench(args.shards, args.out, layout=args.layout,
                             sim_state=not args.no_sim_state)
    print(f"exported {summary['episodes']} episodes to {args.out}/ ({args.layout} layout)")
    for line in summary.get("warnings", []):
        print(f"  warning: {line}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robotr1-data", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="record expert demos into HDF5 shards")
    g.add_argument("--tasks", nargs="+", required=True, metavar="TASK")
    g.add_argument("--episodes", type=int, default=10, help="episodes per task")
    g.add_argument("--out", required=True)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--cameras", nargs="*", default=["all"],
                   help="camera names, 'all' (default) or 'none'")
    g.add_argument("--image-size", nargs=2, type=int, default=[128, 128], metavar=("H", "W"))
    g.add_argument("--variation", type=int, default=None,
                   help="record only this variation (default: cycle through all)")
    g.add_argument("--image-every", type=int, default=1,
                   help="images every K-th step (and at every keypoint)")
    g.add_argument("--episodes-per-shard", type=int, default=25)
    g.add_argument("--max-attempts", type=int, default=10,
                   help="seeds tried per episode before giving up")
    g.add_argument("--workers", type=int, default=1)
    g.add_argument("--ray", default=None, metavar="auto|ADDRESS",
                   help="run the units as Ray tasks: 'auto' (this machine's cluster, else a "
                        "local one) or a cluster address; --workers is then ignored")
    g.add_argument("--backend", default="mujoco", choices=["mujoco", "rlbench"])
    g.add_argument("--render-quality", action="store_true",
                   help="shadows and reflections on (slower on CPU)")
    g.add_argument("--compression", choices=["zstd", "gzip", "lzf", "none"], default="zstd",
                   help="shard compression: zstd (default: smallest and fast to read; other "
                        "readers need `import hdf5plugin`), gzip (readable by any HDF5 build), "
                        "lzf, or none (fastest random reads, several times the bytes)")
    g.add_argument("--no-depth", action="store_true")
    g.add_argument("--no-mask", action="store_true")
    g.add_argument("--quiet", action="store_true")
    g.set_defaults(func=cmd_generate)

    r = sub.add_parser("render", help="re-render stored episodes at other cameras or sizes")
    r.add_argument("shards", nargs="+", help="shard files or dataset directories")
    r.add_argument("--out", required=True)
    r.add_argument("--cameras", nargs="*", default=["all"], help="camera names or 'all'")
    r.add_argument("--image-size", nargs=2, type=int, default=[128, 128], metavar=("H", "W"))
    r.add_argument("--image-every", type=int, default=None,
                   help="images every K-th step and at keypoints (default: as recorded)")
    r.add_argument("--no-rgb", action="store_true")
    r.add_argument("--no-depth", action="store_true")
    r.add_argument("--no-mask", action="store_true")
    r.add_argument("--render-quality", action="store_true")
    r.add_argument("--workers", type=int, default=1)
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=cmd_render)

    ir = sub.add_parser("import-rlbench",
                        help="convert an RLBench dataset_generator folder into shards")
    ir.add_argument("root", help="folder holding <task>/variation<V>/ or <task>/all_variations/")
    ir.add_argument("--out", required=True)
    ir.add_argument("--tasks", nargs="*", default=None, help="only these tasks (default: all)")
    ir.add_argument("--episodes-per-shard", type=int, default=25)
    ir.set_defaults(func=cmd_import_rlbench)

    er = sub.add_parser("export-rlbench",
                        help="write shards in RLBench's dataset_generator layout")
    er.add_argument("shards", nargs="+", help="shard files or dataset directories")
    er.add_argument("--out", required=True)
    er.add_argument("--layout", default="variation", choices=["variation", "all_variations"],
                    help="<task>/variation<V>/episodes (default) or <task>/all_variations/episodes")
    er.add_argument("--no-sim-state", action="store_true",
                    help="leave out the simulator states (smaller; no re-render after import)")
    er.set_defaults(func=cmd_export_rlbench)

    lt = sub.add_parser("list-tasks", help="table of tasks: variations, description, source")
    lt.set_defaults(func=cmd_list_tasks)

    i = sub.add_parser("inspect", help="summarise a shard or dataset directory")
    i.add_argument("file")
    i.set_defaults(func=cmd_inspect)

    v = sub.add_parser("validate", help="check a dataset; exit 0 only when all holds")
    v.add_argument("dir")
    v.add_argument("--full", action="store_true", help="decode every image frame")
    v.set_defaults(func=cmd_validate)

    cs = sub.add_parser("contact-sheet", help="PNG of keyframe images, one row per episode")
    cs.add_argument("shards", nargs="+")
    cs.add_argument("--out", required=True)
    cs.add_argument("--camera", default="front")
    cs.set_defaults(func=cmd_contact_sheet)

    d = sub.add_parser("demo", help="the main job end to end (what `make demo` runs)")
    d.add_argument("--out", default="demo_out")
    d.add_argument("--episodes", type=int, default=2)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--workers", type=int, default=1)
    d.set_defaults(func=cmd_demo)

    try:
        from robotr1_data.qa.commands import register as register_qa
        register_qa(sub)
    except ImportError:  # the QA package is optional at import time only during development
        pass
    from robotr1_data.bench.commands import register as register_bench
    register_bench(sub)
    try:
        from robotr1_data.gallery import register as register_gallery
        register_gallery(sub)
    except ImportError:
        pass
    return p


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        from robotr1_data.generate import GenerationError
        if not isinstance(exc, GenerationError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; completed shards are kept and a rerun resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
