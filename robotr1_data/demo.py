"""The main job end to end, as ``make demo`` runs it: generate a small dataset for three tasks,
validate it, print a summary table, write a contact sheet of front-camera keyframes and build
the Robot-R1 questions from it."""

from __future__ import annotations

import time
from pathlib import Path

DEMO_TASKS = ["reach_target", "push_button", "pick_up_cup"]


def run_demo(out: str, episodes: int = 2, seed: int = 0, workers: int = 1) -> int:
    from robotr1_data.generate import GenerateConfig, format_summary, generate, save_summary
    from robotr1_data.shards import validate_dir

    t0 = time.perf_counter()
    data_dir = Path(out) / "data"
    cfg = GenerateConfig(tasks=DEMO_TASKS, episodes=episodes, out=str(data_dir), seed=seed,
                         workers=workers)
    print(f"[1/4] generating {episodes} demos x {len(DEMO_TASKS)} tasks, 5 cameras RGB-D+mask "
          f"{cfg.image_size[0]}x{cfg.image_size[1]} -> {data_dir}")
    per_task = generate(cfg)
    save_summary(str(data_dir), per_task)

    print("[2/4] validating")
    problems = validate_dir(data_dir)
    if problems:
        for p in problems:
            print(f"  - {p}")
        print(f"validation FAILED with {len(problems)} problem(s)")
        return 1
    print(f"  {data_dir}: valid")

    print("[3/4] contact sheet")
    from robotr1_data.contact_sheet import contact_sheet
    shards = sorted(data_dir.rglob("*.h5"))
    sheet = contact_sheet(shards, Path(out) / "contact_sheet.png", camera="front")
    print(f"  wrote {sheet}")

    print("[4/4] Robot-R1 questions")
    from robotr1_data.qa.builder import QAConfig, build_qa
    summary = build_qa(shards, Path(out) / "qa", QAConfig(seed=seed), log=lambda *a, **k: None)
    n = summary["num_questions"]
    print(f"  wrote {Path(out) / 'qa' / 'questions.jsonl'} ({n} questions)")

    print()
    print(format_summary(per_task))
    print(f"\ndemo finished in {time.perf_counter() - t0:.0f} s; outputs in {out}/")
    return 0
