"""Reports people can look at: Markdown tables and a bar chart PNG drawn with OpenCV.

``write_sim_report(out_dir, results)`` writes ``report.md`` and ``success.png`` (success per task
per policy, with 95% Wilson intervals as whiskers); ``write_qa_report(out_dir, results)`` writes
``report.md`` and ``accuracy.png`` (accuracy per task per question type). Every number in a
report comes from the ``results.json`` beside it, printed with 3 decimals.
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]  # RGB


def fmt(v, digits: int = 3) -> str:
    """A number for a table: 3 decimals, '-' for missing."""
    if v is None:
        return "-"
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    return f"{float(v):.{digits}f}"


def fmt_ci(ci) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]"


def _text_size(text: str, scale: float) -> Tuple[int, int]:
    import cv2

    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    return w, h + base


def _put(img, text, org, scale=0.45, color=(30, 30, 30)):
    import cv2

    cv2.putText(img, text, (int(org[0]), int(org[1])), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)


def _vertical_label(img, text, x_centre, y_top, scale=0.42, color=(30, 30, 30)):
    """Draw ``text`` rotated 90° (reading bottom to top) with its end at ``y_top``."""
    w, h = _text_size(text, scale)
    patch = np.full((h + 4, w + 4, 3), 255, np.uint8)
    _put(patch, text, (2, h - 2), scale, color)
    rot = np.ascontiguousarray(np.rot90(patch, 1))  # counter-clockwise: reads bottom to top
    rh, rw = rot.shape[:2]
    x0 = int(x_centre - rw / 2)
    y0 = int(y_top)
    y1, x1 = min(img.shape[0], y0 + rh), min(img.shape[1], x0 + rw)
    if x0 < 0 or y0 < 0 or y1 <= y0 or x1 <= x0:
        return
    region = img[y0:y1, x0:x1]
    sub = rot[: y1 - y0, : x1 - x0]
    mask = sub.min(axis=2) < 250
    region[mask] = sub[mask]


def _legend(img, names, lx: int, top: int) -> None:
    """One coloured swatch and name per series, stacked from ``top`` (shared by every chart)."""
    import cv2

    for si, name in enumerate(names):
        y = top + 10 + si * 20
        cv2.rectangle(img, (lx, y - 9), (lx + 14, y + 3), PALETTE[si % len(PALETTE)], -1)
        _put(img, name, (lx + 20, y + 2), 0.45)


def bar_chart(path: str, groups: Sequence[str], series: Dict[str, Sequence[Optional[float]]],
              intervals: Optional[Dict[str, Sequence[Sequence[float]]]] = None, title: str = "",
              ylabel: str = "", ymax: float = 1.0) -> str:
    """Grouped bars (one group per entry of ``groups``, one bar per series) as an RGB PNG.

    ``None`` values draw no bar; ``intervals`` adds [low, high] whiskers. Returns ``path``.
    """
    import cv2

    names = list(series)
    n_groups, n_series = max(1, len(groups)), max(1, len(names))
    label_h = max([_text_size(g, 0.42)[0] for g in groups] + [20]) + 12
    legend_w = max([_text_size(n, 0.45)[0] for n in names] + [40]) + 40
    left, right, top, bottom = 60, legend_w + 20, 40, label_h + 10
    slot = max(14, min(40, 220 // n_series))
    group_w = slot * n_series + 16
    plot_w, plot_h = max(300, group_w * n_groups), 300
    W, H = left + plot_w + right, top + plot_h + bottom
    img = np.full((H, W, 3), 255, np.uint8)
    x0, y0 = left, top + plot_h  # plot origin (bottom-left)

    def y_of(v):
        return int(round(y0 - plot_h * max(0.0, min(float(v), ymax)) / ymax))

    for t in np.linspace(0, ymax, 6):
        y = y_of(t)
        cv2.line(img, (x0, y), (x0 + plot_w, y), (225, 225, 225), 1)
        lab = f"{t:.1f}"
        _put(img, lab, (x0 - 8 - _text_size(lab, 0.4)[0], y + 4), 0.4)
    cv2.line(img, (x0, top), (x0, y0), (60, 60, 60), 1)
    cv2.line(img, (x0, y0), (x0 + plot_w, y0), (60, 60, 60), 1)
    gw = plot_w / n_groups
    for gi, g in enumerate(groups):
        gx = x0 + gi * gw + (gw - slot * n_series) / 2
        for si, name in enumerate(names):
            v = series[name][gi]
            color = PALETTE[si % len(PALETTE)]
            bx = int(gx + si * slot)
            if v is not None:
                cv2.rectangle(img, (bx + 2, y_of(v)), (bx + slot - 2, y0), color, -1)
                if float(v) == 0.0:  # a zero bar stays visible as a coloured tick
                    cv2.line(img, (bx + 2, y0 - 1), (bx + slot - 2, y0 - 1), color, 2)
            if intervals and name in intervals and intervals[name][gi] is not None:
                lo, hi = intervals[name][gi]
                cx = bx + slot // 2
                cv2.line(img, (cx, y_of(lo)), (cx, y_of(hi)), (20, 20, 20), 1)
                for yy in (y_of(lo), y_of(hi)):
                    cv2.line(img, (cx - 3, yy), (cx + 3, yy), (20, 20, 20), 1)
        _vertical_label(img, g, x0 + gi * gw + gw / 2, y0 + 6)
    if title:
        _put(img, title, (x0, 24), 0.55)
    if ylabel:
        _vertical_label(img, ylabel, 14, top + plot_h / 2 - _text_size(ylabel, 0.42)[0] / 2)
    lx = x0 + plot_w + 20
    _legend(img, names, lx, top)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return path


def _failures(f: dict, reasons: Sequence[str]) -> str:
    parts = [f"{r} {f.get(r, 0)}" for r in reasons if f.get(r, 0)]
    return ", ".join(parts) or "none"


# --------------------------------------------------------------------------------------------
# eval-sim

SIM_HEADER = "| task | variation | episodes | success | 95% CI | mean keypoints | keypoint L1 (m) | failures |"


def sim_row(task: str, variation: str, a: dict, reasons: Sequence[str]) -> str:
    return (f"| {task} | {variation} | {a['episodes']} | {fmt(a['success_rate'])} | {fmt_ci(a['ci95'])} | "
            f"{fmt(a['mean_keypoints'])} | {fmt(a['mean_keypoint_l1'])} | {_failures(a['failures'], reasons)} |")


def write_sim_report(out_dir: str, results: dict) -> Dict[str, str]:
    summary, tasks = results["summary"], results["tasks"]
    reasons = results.get("failure_reasons", [])
    labels = list(summary)
    chart = bar_chart(
        os.path.join(out_dir, "success.png"), tasks,
        {lab: [summary[lab]["tasks"][t]["success_rate"] for t in tasks] for lab in labels},
        {lab: [summary[lab]["tasks"][t]["ci95"] for t in tasks] for lab in labels},
        title="closed-loop success per task (95% Wilson interval)", ylabel="success rate")
    cfg = results["config"]
    lines = ["# Closed-loop evaluation", "",
             f"{cfg['episodes']} episode(s) per task, seed {cfg['seed']}, at most {cfg['max_keypoints']} "
             f"keypoints per episode, {cfg['image_size'][0]}x{cfg['image_size'][1]} {cfg['camera']} view; "
             f"{results['seconds']} s. All numbers are also in `results.json`.", ""]
    sc = results.get("seed_check", {})
    if sc.get("overlap"):
        lines += [f"**Warning: {len(sc['overlap'])} episode(s) reuse a training seed** (see `seed_check` in "
                  "results.json).", ""]
    elif sc.get("checked"):
        lines += [f"Seed check: no overlap with {sc['training_episodes']} training episode(s) in "
                  f"{sc['shards']} shard(s).", ""]
    else:
        lines += ["Seed check: no training data was given, so overlap was not checked (evaluation seeds use "
                  "their own stream and are disjoint by construction).", ""]
    for m in (results.get("view_check") or {}).get("mismatches", []):
        lines += [f"**Warning: the VLM's view differs from its training images** ({m['setting']}: training "
                  f"{m['training']}, eval {m['eval']}; {m['fix']}; see `view_check` in results.json).", ""]
    lines += ["![success per task per policy](success.png)", "", "## Overall", "",
              "| policy | spec | episodes | success | 95% CI | mean keypoints | keypoint L1 (m) | failures |",
              "|---|---|---|---|---|---|---|---|"]
    for lab in labels:
        a = summary[lab]["overall"]
        lines.append(f"| {lab} | `{results['policies'][lab]}` | {a['episodes']} | {fmt(a['success_rate'])} | "
                     f"{fmt_ci(a['ci95'])} | {fmt(a['mean_keypoints'])} | {fmt(a['mean_keypoint_l1'])} | "
                     f"{_failures(a['failures'], reasons)} |")
    for lab in labels:
        lines += ["", f"## {lab}", "", SIM_HEADER, "|---|---|---|---|---|---|---|---|"]
        for t in tasks:
            entry = summary[lab]["tasks"][t]
            lines.append(sim_row(t, "all", entry, reasons))
            if len(entry["variations"]) > 1:
                for v, a in entry["variations"].items():
                    lines.append(sim_row(t, v, a, reasons))
    vids = [r for r in results["episodes"] if r.get("video")]
    if vids:
        lines += ["", "## Videos", "",
                  f"Front view per episode ({results.get('video_format')}); red cross: predicted keypoint, "
                  "green ring: the expert's next keypoint.", ""]
        for r in vids:
            status = "success" if r["success"] else f"failed: {r['reason']}"
            lines.append(f"- [{r['policy']} {r['task']} episode {r['episode']} (variation {r['variation']}, "
                         f"{status})]({r['video']})")
    lines.append("")
    path = os.path.join(out_dir, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return {"report": path, "chart": chart}


# --------------------------------------------------------------------------------------------
# eval-qa

QA_HEADER = "| task | type | questions | accuracy | parse failures | parse failure rate | format rate | mean L1 (m) |"


def qa_row(task: str, qtype: str, a: dict) -> str:
    return (f"| {task} | {qtype} | {a['n']} | {fmt(a['accuracy'])} | {a['parse_failures']} | "
            f"{fmt(a['parse_failure_rate'])} | {fmt(a['format_rate'])} | {fmt(a['mean_l1'])} |")


def write_qa_report(out_dir: str, results: dict) -> Dict[str, str]:
    by_task = results["by_task"]
    tasks = sorted(by_task)
    types = list(results["by_type"])
    chart = bar_chart(os.path.join(out_dir, "accuracy.png"), tasks,
                      {t: [by_task[task].get(t, {}).get("accuracy") for task in tasks] for t in types},
                      title="offline QA accuracy per task per question type", ylabel="accuracy")
    cfg = results["config"]
    o = results["overall"]
    lines = ["# Offline QA evaluation", "",
             f"Model `{cfg['model']}` on `{cfg['qa']}`: {o['n']} question(s), "
             f"{'sampling at temperature ' + str(cfg.get('temperature')) if cfg.get('do_sample') else 'greedy decoding'}, "
             f"at most {cfg['max_new_tokens']} new tokens; "
             f"{results['seconds']} s. All numbers are also in `results.json`. Accuracy is exact choice match "
             "for multiple choice and clip(1 - L1, 0, 1) for open-ended answers; unparseable answers score 0.", "",
             "![accuracy per task per type](accuracy.png)", "", "## By question type", "", QA_HEADER,
             "|---|---|---|---|---|---|---|---|"]
    for t in types:
        lines.append(qa_row("all", t, results["by_type"][t]))
    lines.append(qa_row("all", "all", o))
    lines += ["", "## By task", "", QA_HEADER, "|---|---|---|---|---|---|---|---|"]
    for task in tasks:
        for t, a in by_task[task].items():
            lines.append(qa_row(task, t, a))
    if results.get("samples"):
        lines += ["", "## Sample answers", ""]
        for s in results["samples"][:10]:
            text = (s["text"] or "").replace("\n", " ")[:200].replace("|", "\\|")
            lines.append(f"- `{s['id']}` ({s['type']}, truth {s['answer']}): {text!r}")
    lines.append("")
    path = os.path.join(out_dir, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return {"report": path, "chart": chart}
