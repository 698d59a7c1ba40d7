"""``robotr1-data``: generate demos, list tasks, inspect and validate shards, build questions.

Bad input exits with code 2 and one line that says what to do (UsageError); nothing already
written is removed.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import List, Optional

from robotr1_data.config import Parser, add_config_args, from_args, opt
from robotr1_data.errors import GenerationError, UsageError


@dataclasses.dataclass
class InspectConfig:
    file: str = opt(help="a shard (.h5) or a dataset directory", positional=True)


@dataclasses.dataclass
class ValidateConfig:
    dir: str = opt(help="a dataset directory or a shard file", positional=True)
    full: bool = opt(False, "decode every image frame")


@dataclasses.dataclass
class ImportRLBenchConfig:
    root: str = opt(help="folder holding <task>/variation<V>/ or <task>/all_variations/",
                    positional=True)
    out: str = opt(help="output dataset directory")
    tasks: Optional[List[str]] = opt(None, "only these tasks (default: all)", nargs="*",
                                     metavar="TASK")
    episodes_per_shard: int = opt(25, "episodes in one shard", min=1)

    def validate(self) -> None:
        if not str(self.out).strip():
            raise UsageError("--out is empty; name an output directory")


@dataclasses.dataclass
class ExportRLBenchConfig:
    shards: List[str] = opt(help="shard files or dataset directories", positional=True,
                            metavar="SHARDS")
    out: str = opt(help="output root of the RLBench layout")
    layout: str = opt("variation", "<task>/variation<V>/episodes or "
                                   "<task>/all_variations/episodes",
                      choices=["variation", "all_variations"])
    sim_state: bool = opt(True, "leave out the simulator states (smaller; no re-render after "
                                "import)")

    def validate(self) -> None:
        if not str(self.out).strip():
            raise UsageError("--out is empty; name an output directory")


@dataclasses.dataclass
class DemoConfig:
    out: str = opt("demo_out", "output directory of the demo")
    episodes: int = opt(2, "demos per task", min=1, max=1000)
    seed: int = opt(0, "the one seed", min=0)
    workers: int = opt(1, "simulator processes", min=1, max=1024)


def cmd_generate(args) -> int:
    from robotr1_data.generate import GenerateConfig, format_summary, generate
    cfg = from_args(GenerateConfig, args)
    per_task = generate(cfg, show_progress=not args.quiet)
    print(format_summary(per_task))
    print(f"wrote {cfg.out}/ (manifest.json, summary.json)")
    return 0


def cmd_list_tasks(args) -> int:
    from robotr1_data.tasks.registry import all_tasks
    rows = []
    for name, (cls, source) in all_tasks().items():
        try:
            from robotr1_data.backends.mujoco.mujoco_sim import MujocoSim
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
    path = Path(from_args(InspectConfig, args).file)
    if not path.exists():
        raise UsageError(f"'{path}' does not exist; pass a shard (.h5) or a dataset directory")
    print(describe(path))
    return 0


def cmd_validate(args) -> int:
    from robotr1_data.shards import validate_dir
    cfg = from_args(ValidateConfig, args)
    path = Path(cfg.dir)
    if not path.exists():
        raise UsageError(f"'{path}' does not exist; pass a dataset directory or a shard file")
    problems = validate_dir(path, full=cfg.full)
    if problems:
        print(f"{len(problems)} problem(s) in {path}:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"{path}: valid")
    return 0


def cmd_contact_sheet(args) -> int:
    from robotr1_data.contact_sheet import ContactSheetConfig, contact_sheet
    from robotr1_data.shard_paths import find_shards
    cfg = from_args(ContactSheetConfig, args)
    shards = [p for p, _ in find_shards(cfg.shards)]
    print(contact_sheet(shards, Path(cfg.out), camera=cfg.camera))
    return 0


def cmd_demo(args) -> int:
    from robotr1_data.demo import run_demo
    cfg = from_args(DemoConfig, args)
    return run_demo(cfg.out, episodes=cfg.episodes, seed=cfg.seed, workers=cfg.workers)


def cmd_render(args) -> int:
    from robotr1_data.render import RenderConfig, render
    cfg = from_args(RenderConfig, args)
    results = render(cfg, show_progress=not args.quiet)
    eps = sum(r["episodes"] for r in results)
    kept = sum(1 for r in results if r.get("skipped"))
    print(f"rendered {eps} episodes in {len(results)} shard(s)"
          + (f" ({kept} already complete, kept)" if kept else "") + f"; wrote {cfg.out}/")
    return 0


def cmd_import_rlbench(args) -> int:
    from robotr1_data.rlbench_io.importer import import_rlbench
    cfg = from_args(ImportRLBenchConfig, args)
    summary = import_rlbench(cfg.root, cfg.out, tasks=cfg.tasks,
                             episodes_per_shard=cfg.episodes_per_shard)
    for task, n in sorted(summary["episodes"].items()):
        print(f"  {task}: {n} episodes")
    print(f"imported {sum(summary['episodes'].values())} episodes ({summary['layout']} layout) "
          f"into {cfg.out}/ (manifest.json)")
    return 0


def cmd_export_rlbench(args) -> int:
    from robotr1_data.rlbench_io.exporter import export_rlbench
    cfg = from_args(ExportRLBenchConfig, args)
    summary = export_rlbench(cfg.shards, cfg.out, layout=cfg.layout, sim_state=cfg.sim_state)
    print(f"exported {summary['episodes']} episodes to {cfg.out}/ ({cfg.layout} layout)")
    for line in summary.get("warnings", []):
        print(f"  warning: {line}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from robotr1_data.contact_sheet import ContactSheetConfig
    from robotr1_data.generate import GenerateConfig
    from robotr1_data.render import RenderConfig

    p = Parser(prog="robotr1-data", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, help, cls, func, config_file=True):
        c = sub.add_parser(name, help=help, description=help)
        add_config_args(c, cls, config_file=config_file)
        c.set_defaults(func=func)
        return c

    g = command("generate", "record expert demos into HDF5 shards", GenerateConfig, cmd_generate)
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    r = command("render", "re-render stored episodes at other cameras or sizes", RenderConfig,
                cmd_render)
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    command("import-rlbench", "convert an RLBench dataset_generator folder into shards",
            ImportRLBenchConfig, cmd_import_rlbench)
    command("export-rlbench", "write shards in RLBench's dataset_generator layout",
            ExportRLBenchConfig, cmd_export_rlbench)
    lt = sub.add_parser("list-tasks", help="table of tasks: variations, description, source")
    lt.set_defaults(func=cmd_list_tasks)
    command("inspect", "summarise a shard or dataset directory", InspectConfig, cmd_inspect,
            config_file=False)
    command("validate", "check a dataset; exit 0 only when all holds", ValidateConfig,
            cmd_validate, config_file=False)
    command("contact-sheet", "PNG of keyframe images, one row per episode", ContactSheetConfig,
            cmd_contact_sheet)
    command("demo", "the main job end to end (what `make demo` runs)", DemoConfig, cmd_demo)

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
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a one-line argparse error (2), see config.Parser
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; completed shards are kept and a rerun resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
