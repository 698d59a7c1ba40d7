"""Random-access single-frame reads: our HDF5 shards against RLBench's PNG + pickle layout of
the same episodes (written by our exporter), in one run; and bytes on disk of each.

A "read" is what a training data loader does per sample: one frame's front RGB image plus its
low-dim state (joint positions and velocities, gripper pose, open state and finger joints, task
state). Frames are drawn uniformly at random over all episodes with a fixed seed; both layouts
read the same list. The RLBench side is timed two ways: "cold" unpickles the episode's
low_dim_obs.pkl for every read (what RLBench's get_stored_demos and a plain Dataset do);
"cached" keeps every episode's unpickled Demo in memory (a loader that preloads). Ours is
robotr1's ShardReader.sample: every image read decompresses its chunk (HDF5's chunk cache is off
for images, as random reads over a large dataset never hit it); low-dim rows come from the
chunk cache once an episode was touched. Both sides read from the OS page cache (files just
written): this measures decoding and lookup, not the disk. Bytes are reported both apparent
(file sizes) and on disk (allocated blocks, what `du` shows: small files waste part of a block).

    python bench/read.py [--episodes 6] [--cameras ...] [--size 128] [--reads 500]
                         [--data DIR] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import h5py  # noqa: E402
import hdf5plugin  # noqa: E402,F401  (registers the zstd filter the shards use)
import numpy as np  # noqa: E402
from _report import emit  # noqa: E402  (bench/ is on sys.path when run as a script)

LOW_DIM = ("joint_positions", "joint_velocities", "gripper_pose", "gripper_open",
           "gripper_joint_positions", "task_low_dim_state")


def tree_bytes(root: Path):
    """(apparent bytes, allocated bytes, files) under ``root``."""
    apparent = allocated = files = 0
    for p in root.rglob("*"):
        if p.is_file():
            st = p.stat()
            apparent += st.st_size
            allocated += st.st_blocks * 512
            files += 1
    return apparent, allocated, files


def shard_bytes_by_kind(shards):
    """Stored (compressed) bytes per kind of dataset, summed over shards."""
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            leaf = name.rsplit("/", 1)[-1]
            kind = leaf.rsplit("_", 1)[-1] if leaf.endswith(("_rgb", "_depth", "_mask")) else (
                "sim_state" if leaf == "sim_state" else "low-dim + camera metadata")
            out[kind] = out.get(kind, 0) + obj.id.get_storage_size()
    for s in shards:
        with h5py.File(s, "r") as f:
            f.visititems(visit)
    return out


def rlbench_bytes_by_kind(root: Path):
    out = {}
    for p in root.rglob("*"):
        if p.is_file():
            kind = p.parent.name.rsplit("_", 1)[-1] if p.suffix == ".png" else "pickles"
            out[kind] = out.get(kind, 0) + p.stat().st_size
    return out


class OurReader:
    """robotr1's own ShardReader, one per shard as a loader worker keeps; ``sample()`` is the
    per-sample call (image chunk read with HDF5's chunk cache off, low-dim rows from it)."""

    def __init__(self, shards):
        from robotr1_data.shards import ShardReader
        self.readers = [ShardReader(s) for s in shards]
        self.episodes = []  # (reader index, group name, length, image_frames)
        for ri, r in enumerate(self.readers):
            for name in r.episodes:
                self.episodes.append((ri, name, int(r.attrs(name)["length"]),
                                      r.image_frames(name)))
        self.files = [r.h5 for r in self.readers]

    def read(self, e: int, i: int, camera: str):
        ri, name, _, _ = self.episodes[e]
        s = self.readers[ri].sample(name, i, images=(f"{camera}_rgb",), fields=LOW_DIM)
        return s[f"{camera}_rgb"], {k: s[k] for k in LOW_DIM}

    def close(self):
        for r in self.readers:
            r.close()


class RLBenchReader:
    def __init__(self, episode_dirs, cache: bool):
        from robotr1_data.rlbench_io.unpickle import safe_loads
        self.dirs = episode_dirs
        self.cache = {} if cache else None
        self._loads = safe_loads

    def demo(self, e: int):
        if self.cache is not None and e in self.cache:
            return self.cache[e]
        path = self.dirs[e] / "low_dim_obs.pkl"
        d = self._loads(path.read_bytes(), str(path))
        if self.cache is not None:
            self.cache[e] = d
        return d

    def read(self, e: int, i: int, camera: str):
        from PIL import Image
        with Image.open(self.dirs[e] / f"{camera}_rgb" / f"{i}.png") as im:
            rgb = np.asarray(im.convert("RGB"))
        obs = self.demo(e)[i]
        low = {k: getattr(obs, k) for k in LOW_DIM}
        return rgb, low


def time_reads(reader, pairs, camera):
    reader.read(*pairs[0], camera)  # first-touch costs (imports) outside the timing
    t0 = time.perf_counter()
    for e, i in pairs:
        reader.read(e, i, camera)
    return (time.perf_counter() - t0) / len(pairs)


def main():
    from robotr1_data.episode import CAMERAS

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="+", default=["push_button", "reach_target"])
    p.add_argument("--episodes", type=int, default=3, help="episodes per task")
    p.add_argument("--cameras", nargs="+", default=list(CAMERAS))
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--no-depth", action="store_true")
    p.add_argument("--no-mask", action="store_true")
    p.add_argument("--reads", type=int, default=500)
    p.add_argument("--compression", choices=["zstd", "gzip", "lzf", "none"], default="zstd",
                   help="shard compression of the generated dataset (generate --compression)")
    p.add_argument("--data", default=None, help="use this generated dataset instead")
    p.add_argument("--keep", default=None, help="keep the work directory here")
    p.add_argument("--markdown", default=None, help="append the tables to this file")
    args = p.parse_args()

    from robotr1_data.generate import GenerateConfig, generate
    from robotr1_data.rlbench_io.exporter import export_rlbench

    work = Path(args.keep or tempfile.mkdtemp(prefix="bench_read_"))
    work.mkdir(parents=True, exist_ok=True)
    data = Path(args.data) if args.data else work / "shards"
    if not args.data:
        t0 = time.perf_counter()
        generate(GenerateConfig(tasks=args.tasks, episodes=args.episodes, out=str(data), seed=0,
                                cameras=args.cameras, image_size=(args.size, args.size),
                                depth=not args.no_depth, mask=not args.no_mask,
                                compression=None if args.compression == "none" else args.compression),
                 show_progress=False)
        print(f"generated in {time.perf_counter() - t0:.0f} s", flush=True)
    rlb_full, rlb_plain = work / "rlbench", work / "rlbench_no_state"
    for d in (rlb_full, rlb_plain):
        shutil.rmtree(d, ignore_errors=True)
    t0 = time.perf_counter()
    export_rlbench([str(data)], str(rlb_full))
    t_export = time.perf_counter() - t0
    export_rlbench([str(data)], str(rlb_plain), sim_state=False)

    shards = sorted(q for q in data.rglob("*.h5"))
    ours = OurReader(shards)
    # The exporter numbers episodes per (task, variation) in shard order; map ours onto them.
    from robotr1_data.rlbench_io.codec import EPISODE_FOLDER, EPISODES_FOLDER, VARIATIONS_FOLDER
    dirs, counters = [], {}
    for fi, name, _, _ in ours.episodes:
        g = ours.files[fi][name]
        task, var = str(g.attrs["task"]), int(g.attrs["variation"])
        n = counters.get((task, var), 0)
        counters[(task, var)] = n + 1
        dirs.append(rlb_full / task / (VARIATIONS_FOLDER % var) / EPISODES_FOLDER
                    / (EPISODE_FOLDER % n))
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(args.reads):
        e = int(rng.integers(len(ours.episodes)))
        pairs.append((e, int(rng.integers(ours.episodes[e][2]))))
    cam = args.cameras[0]

    # Same values from both layouts.
    for e, i in pairs[:20]:
        a, la = ours.read(e, i, cam)
        b, lb = RLBenchReader(dirs, cache=False).read(e, i, cam)
        assert np.array_equal(a, b) and all(np.allclose(la[k], lb[k]) for k in LOW_DIM)

    t_ours = min(time_reads(ours, pairs, cam) for _ in range(3))
    t_cold = min(time_reads(RLBenchReader(dirs, cache=False), pairs, cam) for _ in range(3))
    t_cached = min(time_reads(RLBenchReader(dirs, cache=True), pairs, cam) for _ in range(3))
    ours.close()

    b_ours, a_ours, f_ours = tree_bytes(data)
    b_full, a_full, f_full = tree_bytes(rlb_full)
    b_plain, a_plain, f_plain = tree_bytes(rlb_plain)
    frames = sum(x[2] for x in ours.episodes)
    ours_kinds, rlb_kinds = shard_bytes_by_kind(shards), rlbench_bytes_by_kind(rlb_full)
    kinds = ["rgb"] + ([] if args.no_depth else ["depth"]) + ([] if args.no_mask else ["mask"])
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
               f"{platform.python_version()}, h5py {h5py.__version__}")
    lines = [
        f"### Random-access reads and bytes on disk (`bench/read.py`)", "",
        f"Machine: {machine}. {len(ours.episodes)} episodes ({', '.join(args.tasks)}), "
        f"{frames} frames, cameras {', '.join(args.cameras)} at {args.size}² "
        f"({'/'.join(kinds)}) on every frame; {args.reads} random single-frame reads "
        f"({cam} RGB + low-dim state), best of 3, OS page cache warm.", "",
        "| layout | µs per read | ours faster by |", "|---|---:|---:|",
        f"| robotr1 shards, `ShardReader.sample` (one reader per shard) | "
        f"{t_ours * 1e6:.0f} | — |",
        f"| RLBench PNG + pickle, pickle loaded per read (cold) | {t_cold * 1e6:.0f} | "
        f"{t_cold / t_ours:.1f}× |",
        f"| RLBench PNG + pickle, all pickles cached in RAM | {t_cached * 1e6:.0f} | "
        f"{t_cached / t_ours:.1f}× |", "",
        "| layout | files | bytes (apparent) | bytes on disk (allocated) | ours / this "
        "(apparent) | ours / this (on disk) |",
        "|---|---:|---:|---:|---:|---:|",
        f"| robotr1 HDF5 shards (with sim_state) | {f_ours} | {b_ours:,} | {a_ours:,} | 1.00× "
        f"| 1.00× |",
        f"| RLBench layout + sim_state in misc (same content) | {f_full} | {b_full:,} | "
        f"{a_full:,} | {b_ours / b_full:.2f}× | {a_ours / a_full:.2f}× |",
        f"| RLBench layout as upstream (no sim_state) | {f_plain} | {b_plain:,} | {a_plain:,} | "
        f"{b_ours / b_plain:.2f}× | {a_ours / a_plain:.2f}× |", "",
        "Where the bytes go (apparent bytes by kind):", "",
        "| kind | robotr1 shards | RLBench layout |", "|---|---:|---:|",
        *[f"| {k} | {ours_kinds.get(k, 0):,} | {rlb_kinds.get(k, 0):,} |"
          for k in sorted(set(ours_kinds) | set(rlb_kinds))], "",
        f"Export to the RLBench layout took {t_export:.1f} s.", ""]
    text = "\n".join(lines)
    emit(text, args.markdown)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
