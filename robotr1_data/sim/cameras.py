"""Render the named RLBench cameras from a MuJoCo model: RGB, depth in metres, body-id masks.

One ``mujoco.Renderer`` (one GL context) serves every camera; each camera's scene is built once
per frame and rendered in up to three modes. Conventions match RLBench so its loaders work on
our data: extrinsics are camera->world with the camera looking along +z, x left, y up, and the
intrinsics carry negative focal lengths (RLBench's ``VisionSensor.intrinsic_matrix``).
"""

from __future__ import annotations

import math
from typing import Dict, Sequence, Tuple

import mujoco
import numpy as np

from robotr1_data.errors import UsageError
from robotr1_data.sim.gl import check_rendering, no_gl_message

# MuJoCo cameras look along -z with x right, y up; RLBench's vision sensors look along +z with
# x left, y up: a half turn about y maps one onto the other.
_MJ_TO_RLBENCH = np.diag([-1.0, 1.0, -1.0])


class CameraRig:
    def __init__(self, model: mujoco.MjModel, cameras: Sequence[str], image_size: Tuple[int, int],
                 rgb: bool = True, depth: bool = True, mask: bool = True, quality: bool = False):
        height, width = image_size
        missing = [c for c in cameras if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, c) < 0]
        if missing:
            raise ValueError(f"cameras {missing} are not in the scene")
        self.model = model
        self.cameras = list(cameras)
        self.height, self.width = height, width
        self.modes = {"rgb": rgb, "depth": depth, "mask": mask}
        check_rendering()
        if quality:
            model.vis.quality.offsamples = 4  # multisampling: read when the GL buffers are made
        try:
            self.renderer = mujoco.Renderer(model, height=height, width=width)
        except Exception as exc:  # mujoco.FatalError when no GL platform could be loaded
            raise UsageError(f"{no_gl_message()} [{exc}]") from None
        flags = self.renderer.scene.flags
        # Shadows, reflections and multisampling cost ~12x per frame on llvmpipe
        # (bench/render_quality.py); off unless asked.
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = quality
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = quality
        self._cam_ids = {c: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, c) for c in cameras}
        self._geom_body = np.append(model.geom_bodyid, -1).astype(np.int32)

    def intrinsics(self, camera: str) -> np.ndarray:
        fovy = math.radians(self.model.cam_fovy[self._cam_ids[camera]])
        f = 0.5 * self.height / math.tan(0.5 * fovy)
        return np.array([[-f, 0.0, self.width / 2.0], [0.0, -f, self.height / 2.0], [0.0, 0.0, 1.0]])

    def extrinsics(self, data: mujoco.MjData, camera: str) -> np.ndarray:
        cid = self._cam_ids[camera]
        pose = np.eye(4)
        pose[:3, :3] = data.cam_xmat[cid].reshape(3, 3) @ _MJ_TO_RLBENCH
        pose[:3, 3] = data.cam_xpos[cid]
        return pose

    def near_far(self) -> Tuple[float, float]:
        extent = self.model.stat.extent
        return float(self.model.vis.map.znear * extent), float(self.model.vis.map.zfar * extent)

    def render(self, data: mujoco.MjData) -> Dict[str, np.ndarray]:
        out: Dict[str, np.ndarray] = {}
        r = self.renderer
        for cam in self.cameras:
            r.update_scene(data, camera=cam)
            if self.modes["rgb"]:
                out[f"{cam}_rgb"] = r.render()  # a fresh array each call: no copy needed
            if self.modes["depth"]:
                r.enable_depth_rendering()
                out[f"{cam}_depth"] = r.render().astype(np.float32, copy=False)
                r.disable_depth_rendering()
            if self.modes["mask"]:
                r.enable_segmentation_rendering()
                seg = r.render()
                r.disable_segmentation_rendering()
                geom_ids = np.where(seg[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM), seg[..., 0], -1)
                out[f"{cam}_mask"] = self._geom_body[geom_ids]
        return out

    def close(self):
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None
