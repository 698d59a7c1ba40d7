"""The RLBench backend: one CoppeliaSim per process, RLBench's Environment / TaskEnvironment.

* ``RLBenchSim`` wraps one ``TaskEnvironment``;
* ``RLBenchDemoSource`` records demos with ``TaskEnvironment.get_demos(1, live_demos=True)``
  and maps them to our Episode (observations.py);
* the process-wide simulator (``_SIMULATOR``) enforces PyRep's rule of one simulator per
  process: a second user while the first is open is refused with a clear error, and a process
  reuses its one launched ``Environment`` for every task (``Environment.get_task`` swaps tasks),
  because CoppeliaSim cannot be relaunched inside a process after shutdown. Parallelism comes
  from ``--workers``: every worker is its own process with its own simulator.

RLBench draws every random placement from numpy's global RNG (``np.random``), so the seed of
an attempt is applied there (and to ``random``) right before the reset; the episode is then
reproducible from (task, variation, seed) to the extent CoppeliaSim's physics is.
"""

from __future__ import annotations

import atexit
import logging
import random
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from robotr1_data.errors import UsageError
from robotr1_data.errors import DemoError
from robotr1_data.backends.protocols import Closing
from robotr1_data.episode import RLBENCH_CAMERAS
from robotr1_data.backends.rlbench import observations as O
from robotr1_data.backends.rlbench.names import resolve_task_class

ONE_PER_PROCESS = (
    "one RLBench simulator per process: CoppeliaSim (through PyRep) is already running here "
    "for {owner}; close() it before opening another, or run the second one in its own process "
    "(generation does this with --workers N)")
RELAUNCH = (
    "CoppeliaSim was shut down in this process and cannot be launched again in the same "
    "process (a PyRep limitation); start a new process")
OTHER_SETTINGS = (
    "this process already runs CoppeliaSim with other settings ({have}); RLBench fixes cameras "
    "and action mode at launch, so use the same settings or a new process (wanted {want})")


class _ProcessSimulator:
    """The one launched RLBench ``Environment`` of this process and who is using it."""

    def __init__(self):
        self.env = None
        self.key: Optional[tuple] = None
        self.owner = None
        self.owner_label = ""
        self.shut_down = False

    def acquire(self, key: tuple, build, owner, label: str):
        if self.owner is not None and self.owner is not owner:
            raise UsageError(ONE_PER_PROCESS.format(owner=self.owner_label))
        if self.env is None:
            if self.shut_down:
                raise UsageError(RELAUNCH)
            env = build()
            env.launch()
            self.env, self.key = env, key
            atexit.register(self.shutdown)
        elif key != self.key:
            raise UsageError(OTHER_SETTINGS.format(have=_describe(self.key), want=_describe(key)))
        self.owner, self.owner_label = owner, label
        return self.env

    def release(self, owner) -> None:
        if self.owner is owner:
            self.owner, self.owner_label = None, ""

    def shutdown(self) -> None:
        env, self.env, self.owner = self.env, None, None
        if env is not None:
            self.shut_down = True
            env.shutdown()


_SIMULATOR = _ProcessSimulator()


def shutdown_simulator() -> None:
    """Shut this process's CoppeliaSim down (also done at exit); it cannot be relaunched."""
    _SIMULATOR.shutdown()


def _describe(key: Optional[tuple]) -> str:
    if not key:
        return "none"
    return ", ".join(f"{k}={v}" for k, v in key)


def seed_global_rngs(seed: int) -> None:
    """RLBench samples placements from np.random (and a few tasks from ``random``)."""
    np.random.seed(int(seed) % (2 ** 32))
    random.seed(int(seed))


def build_environment(cameras: Sequence[str], image_size: Tuple[int, int], rgb: bool,
                      depth: bool, mask: bool, headless: bool = True,
                      collision_checking: bool = False, robot_setup: str = "panda"):
    """RLBench ``Environment`` with our observation fields on and the planning action mode."""
    from rlbench.action_modes.action_mode import MoveArmThenGripper
    from rlbench.action_modes.arm_action_modes import EndEffectorPoseViaPlanning
    from rlbench.action_modes.gripper_action_modes import Discrete
    from rlbench.environment import Environment
    from rlbench.observation_config import CameraConfig, ObservationConfig

    h, w = image_size
    cams = {}
    for cam in RLBENCH_CAMERAS:
        on = cam in cameras
        # RLBench's defaults otherwise (OpenGL3 renderer, one-channel masks, normalised depth,
        # as in its published datasets); depth is converted to metres in observations.py.
        cams[f"{cam}_camera"] = CameraConfig(
            rgb=on and rgb, depth=on and depth, point_cloud=False, mask=on and mask,
            image_size=(w, h), masks_as_one_channel=True, depth_in_meters=False)
    obs_config = ObservationConfig(
        joint_velocities=True, joint_positions=True, joint_forces=False, gripper_open=True,
        gripper_pose=True, gripper_matrix=False, gripper_joint_positions=True,
        gripper_touch_forces=False, task_low_dim_state=True, **cams)
    action_mode = MoveArmThenGripper(
        arm_action_mode=EndEffectorPoseViaPlanning(absolute_mode=True, frame="world",
                                                   collision_checking=collision_checking),
        gripper_action_mode=Discrete())
    return Environment(action_mode, obs_config=obs_config, headless=headless,
                       robot_setup=robot_setup)


class _BadDemoLog(logging.Handler):
    """Catches RLBench's ``logging.info('Bad demo. ...')`` so a failure says why."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.messages: List[str] = []

    def emit(self, record):
        msg = record.getMessage()
        if msg.startswith("Bad demo."):
            self.messages.append(msg[len("Bad demo."):].strip())


def _reason(detail: str) -> str:
    d = detail.lower()
    if "path" in d or "waypoint" in d:
        return "rlbench_path"
    if "not successful" in d:
        return "rlbench_not_successful"
    return "rlbench_demo"


class RLBenchSim(Closing):
    """One RLBench ``TaskEnvironment`` (process-wide simulator) with the simulator methods the
    recorder uses (reset, observe, render, state)."""

    name = "rlbench"

    def __init__(self, task: str, cameras: Sequence[str] = (), image_size=(128, 128),
                 rgb: bool = True, depth: bool = True, mask: bool = True,
                 render_quality: bool = False, headless: bool = True,
                 collision_checking: bool = False):
        from robotr1_data.backends.rlbench.install import require_rlbench
        require_rlbench()
        self.task_name = task
        self.task_class = resolve_task_class(task)
        self.cameras = list(cameras)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.kinds = [k for k, on in (("rgb", rgb), ("depth", depth), ("mask", mask)) if on]
        # RLBench renders with its default OpenGL3 renderer either way (as its datasets);
        # render_quality is accepted for interface parity only.
        self.render_quality = render_quality
        self.depth_in_meters = False
        key = (("cameras", tuple(self.cameras)), ("image_size", self.image_size),
               ("rgb", rgb), ("depth", depth), ("mask", mask), ("headless", headless),
               ("collision_checking", collision_checking))
        self.env = _SIMULATOR.acquire(
            key, lambda: build_environment(self.cameras, self.image_size, rgb, depth, mask,
                                           headless, collision_checking),
            owner=self, label=f"task '{task}' ({type(self).__name__})")
        self._open = True
        try:
            self.task_env = self.env.get_task(self.task_class)
        except Exception:
            self.close()
            raise
        self._obs = None
        self._mask_ids = O.MaskIds()

    # --- episodes --------------------------------------------------------------------------
    def variation_count(self) -> int:
        return int(self.task_env.variation_count())

    def _set_variation(self, variation: int) -> None:
        count = self.variation_count()
        if not 0 <= int(variation) < count:
            raise UsageError(f"task {self.task_name} has {count} variations; variation "
                             f"{variation} is out of range 0..{count - 1}")
        self.task_env.set_variation(int(variation))

    def reset(self, variation: int, rng: np.random.Generator) -> List[str]:
        self._set_variation(variation)
        seed_global_rngs(int(rng.integers(0, 2 ** 32)))
        descriptions, self._obs = self.task_env.reset()
        return list(descriptions)

    def reset_seeded(self, variation: int, seed: int) -> Tuple[List[str], object]:
        self._set_variation(variation)
        seed_global_rngs(seed)
        descriptions, self._obs = self.task_env.reset()
        return list(descriptions), self._obs

    def live_demo(self, variation: int, seed: int):
        """One demo from RLBench's own planner: (descriptions, Demo); DemoError on failure.

        RLBench's ``get_demos`` resets the task itself and, on failure, logs the cause and
        raises a generic RuntimeError; one attempt is asked for so that our retry loop picks
        the next seed (and counts the failure) as for the MuJoCo backend.
        """
        self._set_variation(variation)
        seed_global_rngs(seed)
        log = _BadDemoLog()
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(log)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        # get_demos() resets the task itself and drops the descriptions reset() returns; wrap
        # this instance's reset for the call to keep them (public methods only).
        captured: List[List[str]] = []
        reset = self.task_env.reset

        def capturing_reset(*args, **kwargs):
            descriptions, obs = reset(*args, **kwargs)
            captured.append(list(descriptions))
            return descriptions, obs

        self.task_env.reset = capturing_reset
        try:
            demos = self.task_env.get_demos(1, live_demos=True, max_attempts=1)
        except Exception as exc:  # placement (TaskEnvironmentError) or RLBench's give-up
            detail = log.messages[-1] if log.messages else f"{type(exc).__name__}: {exc}"
            reason = ("rlbench_placement" if type(exc).__name__ == "TaskEnvironmentError"
                      else _reason(detail))
            raise DemoError(reason, detail) from None
        finally:
            del self.task_env.reset
            root.removeHandler(log)
            root.setLevel(old_level)
        demo = demos[0]
        if captured:
            descriptions = captured[-1]
        else:  # an RLBench whose get_demos does not go through reset(): same seed, same scene
            descriptions, _ = self.reset_seeded(variation, seed)
        self._obs = demo[len(demo) - 1]
        return descriptions, demo

    # --- simulator methods-------------------------------------------------------------------
    def _need_obs(self):
        if self._obs is None:
            raise UsageError("call reset() before observe()/render() on the RLBench backend")
        return self._obs

    def observe(self) -> Dict[str, np.ndarray]:
        return O.low_dim(self._need_obs())

    def render(self) -> Dict[str, np.ndarray]:
        obs = self._need_obs()
        if not self.cameras or not self.kinds:
            return {}
        out = O.images(obs, self.cameras, self.kinds, self.depth_in_meters)
        for cam in self.cameras:
            if f"{cam}_mask" in out:
                out[f"{cam}_mask"] = self._mask_ids(out[f"{cam}_mask"])
        return out

    def camera_parameters(self) -> Dict[str, Dict[str, np.ndarray]]:
        return O.camera_parameters(self._need_obs(), self.cameras) if self.cameras else {}

    def mask_names(self) -> List[str]:
        return list(self._mask_ids.names)

    def get_state(self) -> np.ndarray:
        return O.low_dim(self._need_obs())["sim_state"]

    def set_state(self, state: np.ndarray) -> None:
        raise UsageError("the RLBench backend cannot restore a frame from a flat state "
                         "(CoppeliaSim has no such API); reproduce an episode with "
                         "reset(variation, seed) instead")

    def close(self) -> None:
        if getattr(self, "_open", False):
            self._open = False
            _SIMULATOR.release(self)


class RLBenchDemoSource(Closing):
    """Expert demos from RLBench's planner, as Episodes (the ``--backend rlbench`` source)."""

    def __init__(self, task: str, cameras: Sequence[str] = (), image_size=(128, 128),
                 rgb: bool = True, depth: bool = True, mask: bool = True,
                 render_quality: bool = False, image_every: int = 1, headless: bool = True):
        self.task = task
        self.sim = RLBenchSim(task, cameras=cameras, image_size=image_size, rgb=rgb, depth=depth,
                              mask=mask, render_quality=render_quality, headless=headless)
        self.image_every = image_every

    def variation_count(self) -> int:
        return self.sim.variation_count()

    def record(self, variation: int, seed: int):
        descriptions, demo = self.sim.live_demo(variation, seed)
        try:
            return O.demo_to_episode(
                demo, task=self.task, variation=variation, seed=seed,
                descriptions=descriptions, cameras=self.sim.cameras, kinds=self.sim.kinds,
                depth_in_meters=self.sim.depth_in_meters, image_every=self.image_every,
                extra={"rlbench_task": self.sim.task_class.__name__,
                       "num_reset_attempts": _int_or_none(getattr(demo, "num_reset_attempts",
                                                                  None))})
        except UsageError:
            raise
        except (ValueError, TypeError) as exc:  # a malformed observation: count, retry
            raise DemoError("rlbench_observation", str(exc)) from None



def _int_or_none(v) -> Optional[int]:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None
