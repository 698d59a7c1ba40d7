"""Shard compression: write cost, bytes and single-frame decode time per codec and level.

The same recorded episodes are written with ShardWriter once per setting (gzip-4, lzf, none and
zstd at several levels), in one run: write time per image frame, stored bytes per image frame,
and the time to read one random image through ShardReader.frame (HDF5 chunk cache off, so
every read decompresses). Also the wall time of recording those episodes (`generate`), so the
write cost can be read against the whole job. This backs the choice of zstd level 6 as the
default (robotr1_data/shards/writer.py). A second table compares each RGB camera's zstd-6 bytes
with the PNG files RLBench's layout stores for the same images (its writer, PIL defaults), and
the last line times undoing a PNG-style row predictor in numpy (what a predictor would cost a
reader when no HDF5 filter provides one).

    python bench/compression.py [--cameras front] [--size 224] [--episodes 3] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
from _report import emit  # noqa: E402  (bench/ is on sys.path when run as a script)

SETTINGS = [("gzip", None), ("lzf", None), ("none", None)] + [
    ("zstd", level) for level in (1, 3, 6, 9, 12, 15, 19)]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="+", default=["pick_up_cup", "push_button"])
    p.add_argument("--episodes", type=int, default=3, help="episodes per task")
    p.add_argument("--cameras", nargs="+", default=["front"])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--depth", action="store_true", help="record depth and masks too")
    p.add_argument("--reads", type=int, default=300)
    p.add_argument("--markdown", default=None, help="append the table to this file")
    args = p.parse_args()

    from robotr1_data.generate import GenerateConfig, generate
    from robotr1_data.shards import ShardReader, ShardWriter
    from robotr1_data.rlbench_io.codec import write_png
    from robotr1_data.shards import writer as writer_module

    work = Path(tempfile.mkdtemp(prefix="bench_compression_"))
    t0 = time.perf_counter()
    generate(GenerateConfig(tasks=args.tasks, episodes=args.episodes, out=str(work / "src"),
                            seed=0, cameras=args.cameras, image_size=(args.size, args.size),
                            depth=args.depth, mask=args.depth, compression=None),
             show_progress=False)
    t_generate = time.perf_counter() - t0
    episodes, config = [], None
    for shard in sorted((work / "src").rglob("*.h5")):
        with ShardReader(shard) as r:
            config = r.config
            episodes += [r.load(n) for n in r.episodes]
    frames = sum(len(e.image_frames) for e in episodes)
    keys = sorted(episodes[0].images)

    rows = []
    for codec, level in SETTINGS:
        if level is not None:
            writer_module.ZSTD_LEVEL = level  # the writer reads it at each dataset it creates
        path = work / f"{codec}{level or ''}.h5"
        t0 = time.perf_counter()
        with ShardWriter(path, config, compression=None if codec == "none" else codec) as w:
            for ep in episodes:
                w.add(ep)
        t_write = time.perf_counter() - t0
        rng = np.random.default_rng(0)
        with ShardReader(path) as r:
            picks = []
            for _ in range(args.reads):
                e = int(rng.integers(len(episodes)))
                frames_e = episodes[e].image_frames
                picks.append((e, int(frames_e[rng.integers(len(frames_e))]),
                              keys[int(rng.integers(len(keys)))]))
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                for e, i, k in picks:
                    r.frame(e, k, i)
                best = min(best, (time.perf_counter() - t0) / len(picks))
        name = codec if level is None else f"zstd-{level}"
        if codec == "gzip":
            name = "gzip-4"
        rows.append((name, t_write / frames / len(keys) * 1e3, path.stat().st_size / frames,
                     best * 1e6))
    writer_module.ZSTD_LEVEL = 6

    # zstd-6 against RLBench's PNG files, per RGB camera.
    png_rows = []
    png_file = work / "frame.png"
    with h5py.File(work / "zstd6.h5", "r") as f:
        for key in (k for k in keys if k.endswith("_rgb")):
            stored = sum(g[key].id.get_storage_size() for g in f["episodes"].values())
            png = 0
            for ep in episodes:
                for img in ep.images[key]:
                    write_png(png_file, img)
                    png += png_file.stat().st_size
            png_rows.append((key, stored, png))
    rgb_key = next(k for k in keys if k.endswith("_rgb"))
    resid = episodes[0].images[rgb_key][0].copy()
    t0 = time.perf_counter()
    for _ in range(200):
        np.cumsum(resid, axis=0, dtype=np.uint8)  # undo an "up" predictor over one image
    t_undo = (time.perf_counter() - t0) / 200

    ref = {r[0]: r for r in rows}["gzip-4"]
    lines = [
        "### Shard compression (`bench/compression.py`)", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores. {len(episodes)} episodes "
        f"({', '.join(args.tasks)}), {frames} image frames, {', '.join(keys)} at {args.size}²; "
        f"recording them took {t_generate:.1f} s ({t_generate / frames * 1e3:.1f} ms per frame, "
        f"uncompressed write included). Read: one random image via `ShardReader.frame`, "
        f"best of 3 × {args.reads} (the first pass opens the datasets).", "",
        "| setting | write ms per image | bytes per frame (file) | vs gzip-4 | read µs per image "
        "| vs gzip-4 |",
        "|---|---:|---:|---:|---:|---:|"]
    for name, w, b, rd in rows:
        lines.append(f"| {name} | {w:.2f} | {b:,.0f} | {b / ref[2]:.2f}× | {rd:.0f} | "
                     f"{rd / ref[3]:.2f}× |")
    lines += ["", "| RGB camera | zstd-6 bytes | RLBench PNG bytes | zstd / PNG |",
              "|---|---:|---:|---:|"]
    lines += [f"| {k} | {z:,} | {q:,} | {z / q:.2f}× |" for k, z, q in png_rows]
    lines += ["", f"Undoing a row predictor in numpy (`np.cumsum` over one {rgb_key} image): "
              f"{t_undo * 1e6:.0f} µs."]
    text = "\n".join(lines) + "\n"
    emit(text, args.markdown)


if __name__ == "__main__":
    main()
