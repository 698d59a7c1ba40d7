"""A line chart as an RGB PNG with OpenCV (already a dependency), so the benchmarks need no matplotlib."""

from __future__ import annotations

import os
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from robotr1_train.evaluation.report import PALETTE, _legend, _put, _text_size, _vertical_label


def line_chart(path: Optional[str], series: Dict[str, Sequence[Tuple[float, float]]], title: str = "",
               xlabel: str = "", ylabel: str = "", ymin: float = 0.0, ymax: float = 1.0,
               hlines: Optional[Dict[str, float]] = None, size: Tuple[int, int] = (360, 520)) -> np.ndarray:
    """Each series a list of (x, y) points drawn as a polyline; ``hlines`` are dashed reference levels.

    Returns the image (H, W, 3) and writes it to ``path`` when given.
    """
    import cv2

    plot_h, plot_w = size
    legend_w = max([_text_size(n, 0.45)[0] for n in list(series) + list(hlines or {})] + [40]) + 40
    left, right, top, bottom = 60, legend_w + 20, 40, 50
    W, H = left + plot_w + right, top + plot_h + bottom
    img = np.full((H, W, 3), 255, np.uint8)
    x0, y0 = left, top + plot_h
    xs = [x for pts in series.values() for x, _ in pts] or [0.0, 1.0]
    xmin, xmax = min(xs), max(xs)
    if xmax <= xmin:
        xmax = xmin + 1.0
    span = max(ymax - ymin, 1e-9)

    def px(x, y):
        return (int(round(x0 + plot_w * (x - xmin) / (xmax - xmin))),
                int(round(y0 - plot_h * (min(max(y, ymin), ymax) - ymin) / span)))

    for t in np.linspace(ymin, ymax, 6):
        y = px(xmin, t)[1]
        cv2.line(img, (x0, y), (x0 + plot_w, y), (225, 225, 225), 1)
        lab = f"{t:.2f}"
        _put(img, lab, (x0 - 8 - _text_size(lab, 0.4)[0], y + 4), 0.4)
    for t in np.linspace(xmin, xmax, 5):
        x = px(t, ymin)[0]
        lab = f"{t:.0f}" if xmax - xmin >= 4 else f"{t:.2g}"
        _put(img, lab, (x - _text_size(lab, 0.4)[0] // 2, y0 + 18), 0.4)
    cv2.line(img, (x0, top), (x0, y0), (60, 60, 60), 1)
    cv2.line(img, (x0, y0), (x0 + plot_w, y0), (60, 60, 60), 1)
    names = list(series)
    for i, (name, level) in enumerate((hlines or {}).items()):
        y = px(xmin, level)[1]
        for xa in range(x0, x0 + plot_w, 12):
            cv2.line(img, (xa, y), (min(xa + 6, x0 + plot_w), y), (120, 120, 120), 1)
    for si, name in enumerate(names):
        pts = sorted(series[name])
        color = PALETTE[si % len(PALETTE)]
        poly = np.array([px(x, y) for x, y in pts], np.int32)
        if len(poly) > 1:
            cv2.polylines(img, [poly], False, color, 2, cv2.LINE_AA)
        for p in poly if len(poly) <= 12 else []:
            cv2.circle(img, tuple(int(v) for v in p), 3, color, -1)
    if title:
        _put(img, title, (x0, 24), 0.55)
    if xlabel:
        _put(img, xlabel, (x0 + plot_w // 2 - _text_size(xlabel, 0.42)[0] // 2, y0 + 40), 0.42)
    if ylabel:
        _vertical_label(img, ylabel, 14, top + plot_h / 2 - _text_size(ylabel, 0.42)[0] / 2)
    lx = x0 + plot_w + 20
    _legend(img, names, lx, top)
    for i, name in enumerate(hlines or {}):
        y = top + 10 + (len(names) + i) * 20
        cv2.line(img, (lx, y - 3), (lx + 14, y - 3), (120, 120, 120), 1)
        _put(img, name, (lx + 20, y + 2), 0.45)
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return img


def side_by_side(path: str, images: Sequence[np.ndarray]) -> str:
    """Paste images left to right on white (heights padded to the tallest) and write the PNG."""
    import cv2

    h = max(im.shape[0] for im in images)
    cols = [np.vstack([im, np.full((h - im.shape[0], im.shape[1], 3), 255, np.uint8)]) for im in images]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    cv2.imwrite(path, cv2.cvtColor(np.hstack(cols), cv2.COLOR_RGB2BGR))
    return path
