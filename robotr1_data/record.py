"""Record one expert demo into an Episode: low-dim state every step, images where asked.

The simulator state is kept for every frame (the source of truth); images are a view
of it, rendered at every ``image_every``-th frame and at every keypoint.
"""

from __future__ import annotations

import zlib
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from robotr1_data.episode import Episode
from robotr1_data.expert import DemoError, Expert
from robotr1_data.keypoints import discover_keypoints


def episode_seed(seed: int, task: str, episode: int, attempt: int) -> np.random.SeedSequence:
    """The seed of one attempt at one episode: a function of (seed, task, episode, attempt) only,
    so the same command gives the same data whatever the worker count or order."""
    return np.random.SeedSequence([seed, zlib.crc32(task.encode()), episode, attempt])


def seed_int(seq: np.random.SeedSequence) -> int:
    return int(seq.generate_state(1, np.uint64)[0] & 0x7FFFFFFFFFFFFFFF)


def image_frames_for(length: int, image_every: int, keypoints: Sequence[int],
                     planner_keypoints: Sequence[int]) -> np.ndarray:
    """Frames that get images: every K-th frame, every keypoint and every planner keypoint (the
    frames the Robot-R1 questions and RLBench loaders look at). ``render`` uses the same rule."""
    keep = set(range(0, length, max(1, int(image_every))))
    keep |= {int(k) for k in keypoints} | {int(k) for k in planner_keypoints}
    return np.array(sorted(keep), dtype=np.int64)


def record_demo(sim, expert: Expert, variation: int, seed: int, image_every: int = 1) -> Episode:
    """Reset to ``variation`` with ``seed``, run the expert and return the recorded Episode.

    Raises DemoError when the expert fails; the caller retries with another seed.
    """
    rng = np.random.default_rng(seed)
    descriptions = sim.reset(variation, rng)
    frames: List[Dict[str, np.ndarray]] = []
    snapshots: Dict[int, Callable[[], Dict[str, np.ndarray]]] = {}  # frame -> its arrays, when ready
    extrinsics: Dict[int, Dict[str, np.ndarray]] = {}
    rendering = bool(getattr(sim, "cameras", None))
    # A simulator that can draw in the background (MujocoSim.render_async) does, while the
    # expert and physics go on to the next control step; its frames are collected at the end.
    start_render = getattr(sim, "render_async", None) or _rendered_now(sim)
    # One that can draw into given arrays (image_specs) writes each frame straight into the
    # demo's stacked arrays, which are then not copied again at the end.
    specs = getattr(sim, "image_specs", None)
    specs = specs() if rendering and specs is not None and hasattr(sim, "render_async") else {}
    store = FrameStore(specs) if specs else None
    slots: Dict[int, int] = {}  # frame -> its slot in ``store``

    every = max(1, int(image_every))

    def render(index: int):
        if store is None:
            snapshots[index] = start_render()
        else:
            slots[index], out = store.slot()
            snapshots[index] = start_render(out)
        extrinsics[index] = sim.camera_extrinsics()

    def capture():
        index = len(frames)
        frames.append(sim.observe())
        if rendering and index % every == 0:
            render(index)

    capture()
    planner_keypoints = expert.run(capture)
    stacked = {k: np.stack([f[k] for f in frames]) for k in frames[0]}
    keypoints = discover_keypoints(stacked["joint_velocities"], stacked["gripper_open"])

    images: Dict[str, np.ndarray] = {}
    image_frames = np.zeros(0, np.int64)
    intrinsics, cam_extr, near_far = {}, {}, {}
    if rendering:
        image_frames = image_frames_for(len(frames), every, keypoints, planner_keypoints)
        # Keypoints are known only now; their frames are rendered from the stored state, which
        # reproduces the recorded frame bit for bit (tests/test_sim.py), instead of rendering
        # every step in case a keypoint lands there.
        for i in image_frames:
            if int(i) not in snapshots:
                sim.set_state(stacked["sim_state"][i])
                render(int(i))
        arrays = {i: collect() for i, collect in snapshots.items()}  # every frame drawn (or raises)
        if store is not None:  # the arrays above are views of its slots
            images = store.arrays([slots[int(i)] for i in image_frames])
        else:
            for key in arrays[0]:
                images[key] = np.stack([arrays[i][key] for i in image_frames])
        params = sim.camera_parameters()
        for cam, p in params.items():
            intrinsics[cam] = p["intrinsics"]
            near_far[cam] = (p["near"], p["far"])
            cam_extr[cam] = np.stack([extrinsics[i][cam] for i in image_frames])

    return Episode(
        task=sim.task.name, variation=int(variation), seed=int(seed),
        descriptions=list(descriptions), success=True,
        joint_positions=stacked["joint_positions"], joint_velocities=stacked["joint_velocities"],
        gripper_pose=stacked["gripper_pose"], gripper_open=stacked["gripper_open"],
        gripper_joint_positions=stacked["gripper_joint_positions"],
        sim_state=stacked["sim_state"], task_low_dim_state=stacked["task_low_dim_state"],
        planner_keypoints=np.asarray(planner_keypoints, dtype=np.int64), keypoints=keypoints,
        images=images, image_frames=image_frames, camera_intrinsics=intrinsics,
        camera_extrinsics=cam_extr, camera_near_far=near_far,
        mask_names=sim.mask_names() if rendering else [],
        extra={"backend": sim.name, "model_overrides": sim.overrides},
    )


class FrameStore:
    """A demo's frames, rendered straight into their place in its stacked image arrays.

    Stacking a demo's frames at its end copied every image once more into fresh memory (five
    128² cameras with depth and masks: ~1 MB a frame), a cost the recorder paid on top of its
    renders (docs/benchmarks.md, Recording). Here each image key gets one array of ``capacity``
    frames up front; untouched pages of it are never mapped, so a generous capacity costs
    address space, not memory. A demo longer than that opens a second block (then, at the end,
    one copy joins them); slots never move, so frames drawn in the background stay valid."""

    MAX_BLOCK_BYTES = 1 << 30

    def __init__(self, specs: Dict[str, tuple], capacity: Optional[int] = None):
        self.specs = dict(specs)
        frame_bytes = sum(int(np.prod(shape)) * np.dtype(dtype).itemsize for shape, dtype in self.specs.values())
        if capacity is None:
            capacity = min(4096, max(16, self.MAX_BLOCK_BYTES // max(1, frame_bytes)))
        self.capacity = int(capacity)
        self._blocks: List[Dict[str, np.ndarray]] = []
        self._sizes: List[int] = []  # frames each block holds: capacity, then twice the last
        self._used = 0  # slots taken in the last block
        self.count = 0

    def slot(self):
        """(slot index, {key: that slot's array}): where the next frame's arrays go."""
        if not self._blocks or self._used == self._sizes[-1]:
            self._sizes.append(self.capacity << len(self._blocks))
            self._blocks.append({k: np.empty((self._sizes[-1], *shape), dtype)
                                 for k, (shape, dtype) in self.specs.items()})
            self._used = 0
        block = self._blocks[-1]
        index, self.count = self.count, self.count + 1
        views = {k: a[self._used] for k, a in block.items()}
        self._used += 1
        return index, views

    def arrays(self, order: Sequence[int]) -> Dict[str, np.ndarray]:
        """The frames of the slots in ``order``, stacked per key (a view where no copy is needed)."""
        order = list(order)
        out = {}
        for key in self.specs:
            parts = [b[key] for b in self._blocks]
            if len(parts) == 1:
                joined = parts[0][:self.count]
            else:
                joined = np.concatenate([p[:n] for p, n in zip(parts, self._sizes[:-1] + [self._used])])
            out[key] = joined if order == list(range(self.count)) else joined[order]
        return out


def _rendered_now(sim) -> Callable[[], Callable[[], Dict[str, np.ndarray]]]:
    def start():
        arrays = sim.render()
        return lambda: arrays
    return start


class AttemptLog:
    """Counts expert failures by reason, as they happen, not only at the end."""

    def __init__(self):
        self.failures: Dict[str, int] = {}
        self.attempts = 0

    def add(self, reason: str):
        self.failures[reason] = self.failures.get(reason, 0) + 1


def record_with_retries(source, task: str, variation: int, seed: int, episode: int,
                        max_attempts: int, log: AttemptLog, on_failure=None) -> Episode:
    """Try new seeds until the expert succeeds; raise DemoError after ``max_attempts``."""
    last: Optional[DemoError] = None
    for attempt in range(max_attempts):
        s = seed_int(episode_seed(seed, task, episode, attempt))
        log.attempts += 1
        try:
            ep = source.record(variation, s)
            ep.attempts = attempt + 1
            return ep
        except DemoError as err:
            log.add(err.reason)
            last = err
            if on_failure:
                on_failure(task, episode, attempt, err)
    raise DemoError("gave_up", f"{task} episode {episode}: {max_attempts} attempts failed, "
                    f"last: {last}")
