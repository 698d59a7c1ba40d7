"""``report.md`` and ``scores.png`` from ``results.json``: mean score per type and per task with
95 % intervals, and the paper's Robot-R1 Bench numbers beside ours."""

from __future__ import annotations

import os
from typing import Dict

from robotr1_data.bench.templates import BENCH_TYPES
from robotr1_train.evaluation.report import bar_chart, fmt, fmt_ci

# Robot-R1 paper, Robot-R1 Bench (GPT-4o judge, 0-3), the two types it reports as headline numbers.
PAPER = {
    "Robot-R1-7B (paper)": {"movement": 0.76, "spatial": 1.51},
    "GPT-4o (paper)": {"movement": 0.72, "spatial": 1.43},
    "Qwen2.5-VL-7B (paper)": {"movement": 0.58, "spatial": 1.40},
}
CHART = "scores.png"
REPORT = "report.md"


def _row(name: str, a: dict) -> str:
    ci = fmt_ci(a["ci95"]) if a["ci95"] else "-"
    return f"| {name} | {a['n']} | {fmt(a['mean'])} | {ci} | {a['unparsed']} |"


def _cell(text, limit: int = 160) -> str:
    t = " ".join(str(text if text is not None else "").split()).replace("|", "\\|")
    return t if len(t) <= limit else t[:limit - 1] + "…"


def _examples(rows, types, per_type: int = 3) -> list:
    """The lowest-scoring answers per type (ties in file order): where to start reading."""
    out = ["## Lowest-scoring answers", "", "| type | id | score | reference | answer | judge |",
           "|---|---|---|---|---|---|"]
    for t in types:
        mine = [r for r in rows if r["type"] == t]
        mine.sort(key=lambda r: (-1 if r["score"] is None else r["score"]))
        for r in mine[:per_type]:
            out.append(f"| {t} | {r['id']} | {fmt(r['score'])} | {_cell(r['reference'])} | {_cell(r['answer'])} | "
                       f"{_cell(r['judge_reply'], 120)} |")
    return out + [""]


def write_report(out_dir: str, results: dict) -> Dict[str, str]:
    from robotr1_data.files import atomic_write_text

    types = [t for t in BENCH_TYPES if t in results["by_type"]]
    label = results["model"]
    lines = [
        "# Robot-R1 Bench report", "",
        f"- model: `{label}`", f"- judge: `{results['judge']}` (rubric {results['rubric_version']})",
        f"- bench: `{results['bench']}` ({results['bench_version']}), {results['num_questions']} questions",
        f"- complete: {results['complete']}", "",
        "Scores are 0-3 per question; intervals are 95 % (Student t). 'unparsed' counts judge replies "
        "without a score after one retry (left out of the mean).", "",
        "## Per type", "", "| type | n | mean | 95 % interval | unparsed |", "|---|---|---|---|---|",
    ]
    lines += [_row(t, results["by_type"][t]) for t in types]
    lines += [_row("all", results["overall"]), "", "## Per task and type", "",
              "| task | type | n | mean | 95 % interval | unparsed |", "|---|---|---|---|---|---|"]
    for task, per in results["by_task"].items():
        for t in types:
            if t in per:
                lines.append(_row(f"{task} | {t}", per[t]))
    lines += ["", "## Beside the paper", "",
              "The paper's numbers are on its own 215 hand-made questions about RLBench scenes, judged by "
              "GPT-4o; ours are on questions generated from our MuJoCo scenes. Compare the ranking and "
              "the scale, not the digits (docs/bench.md).", "",
              "| model | " + " | ".join(types) + " |", "|---|" + "---|" * len(types)]
    lines.append(f"| {os.path.basename(label) or label} (ours, {results['judge']}) | "
                 + " | ".join(fmt(results["by_type"][t]["mean"]) for t in types) + " |")
    for name, nums in PAPER.items():
        lines.append(f"| {name} | " + " | ".join(fmt(nums.get(t)) for t in types) + " |")
    lines += ["", f"![scores]({CHART})", ""]
    lines += _examples(results["questions"], types)
    path = os.path.join(out_dir, REPORT)
    atomic_write_text(path, "\n".join(lines))
    series = {f"ours ({results['judge']})": [results["by_type"][t]["mean"] for t in types]}
    intervals = {f"ours ({results['judge']})": [results["by_type"][t]["ci95"] for t in types]}
    for name, nums in PAPER.items():
        series[name] = [nums.get(t) for t in types]
    chart = bar_chart(os.path.join(out_dir, CHART), types, series, intervals,
                      title="Robot-R1 Bench: mean score (0-3)", ylabel="score", ymax=3.0)
    return {"report": path, "chart": chart}


def format_table(results: dict) -> str:
    types = [t for t in BENCH_TYPES if t in results["by_type"]]
    lines = [f"Robot-R1 Bench: {results['num_questions']} questions, model {results['model']}, "
             f"judge {results['judge']}", f"{'type':<12}{'n':>5}{'mean':>8}  95% interval"]
    for t in types + ["all"]:
        a = results["overall"] if t == "all" else results["by_type"][t]
        ci = fmt_ci(a["ci95"]) if a["ci95"] else "-"
        lines.append(f"{t:<12}{a['n']:>5}{fmt(a['mean']):>8}  {ci}")
    return "\n".join(lines)
