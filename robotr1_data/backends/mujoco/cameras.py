"""Render the named RLBench cameras from a MuJoCo model: RGB, depth in metres, body-id masks.

One GL context serves the cameras (two, each in its own thread, on a CPU rasteriser: ``threads``;
``submit`` draws whole frames in background contexts while the caller steps on: ``pipeline``).
Per camera and frame: one segmentation pass gives the
body-id mask (and depth where the ordinary pass cannot), then one ordinary pass gives RGB (and,
in the default CPU settings, depth from the same z-buffer), drawing only the geoms that can show. Every array is bit-identical to what
``mujoco.Renderer`` returns in its rgb / depth / segmentation modes (tests/test_cameras.py);
``render_three_pass`` keeps the old one-pass-per-mode path for bench/render.py, which measures
the difference. Conventions match RLBench so its loaders work on our data: extrinsics are
camera->world with the camera looking along +z, x left, y up, and the intrinsics carry negative
focal lengths (RLBench's ``VisionSensor.intrinsic_matrix``).
"""

from __future__ import annotations

import math
import os
import queue
import threading
from typing import Dict, Optional, Sequence, Tuple

import mujoco
import numpy as np

from robotr1_data.errors import UsageError
from robotr1_data.backends.mujoco.gl import check_rendering, is_software_renderer, no_gl_message, renderer_name
from robotr1_data.views import check_tessellation

# MuJoCo cameras look along -z with x right, y up; RLBench's vision sensors look along +z with
# x left, y up: a half turn about y maps one onto the other.
_MJ_TO_RLBENCH = np.diag([-1.0, 1.0, -1.0])
_SEG_FLAGS = (mujoco.mjtRndFlag.mjRND_SEGMENT, mujoco.mjtRndFlag.mjRND_IDCOLOR)
_GEOM = int(mujoco.mjtObj.mjOBJ_GEOM)
_NONE = mujoco.mjtGeom.mjGEOM_NONE


def depth_coefficients(model: mujoco.MjModel) -> Tuple[np.float32, np.float32]:
    """(c, d) with metres = d / (zbuffer + c), computed exactly as ``mujoco.Renderer`` does
    (float32 glFrustum terms, reversed-Z map), so our depth is bit-identical to its depth."""
    extent = model.stat.extent
    znear = np.float32(model.vis.map.znear * extent)
    zfar = np.float32(model.vis.map.zfar * extent)
    c = -(zfar + znear) / (zfar - znear)
    d = -(np.float32(2) * zfar * znear) / (zfar - znear)
    return np.float32(-0.5) * c - np.float32(0.5), np.float32(-0.5) * d


class CameraRig:
    IN_FLIGHT = 3  # pending frames per pool beyond its contexts + 1 (``in_flight``; each holds a state copy)

    def __init__(self, model: mujoco.MjModel, cameras: Sequence[str], image_size: Tuple[int, int],
                 rgb: bool = True, depth: bool = True, mask: bool = True, quality: bool = False,
                 tessellation: Optional[Tuple[int, int]] = None, cull: Optional[bool] = None,
                 threads: Optional[int] = None, pipeline: Optional[bool] = None):
        """``cull``: skip drawing geoms that cannot show (outside the view, or owning no pixel of
        the mask pass); exact either way. None: on for CPU rasterisers (llvmpipe, OSMesa), where
        it saves most of a frame, off on a GPU, where the Python-side test costs more than the
        drawing it saves. Never with ``quality`` (shadows and reflections show unseen geoms).

        ``threads``: GL contexts that draw side by side, each in its own thread: ``render``
        deals them a frame's cameras round-robin (at most one context per camera), the pipeline
        whole frames; exact either way. None: two on a CPU rasteriser with EGL or OSMesa and two
        cores (for ``render``, with two cameras or more), else one. On llvmpipe most of a small
        frame is vertex work in the thread that calls ``mjr_render``, which MuJoCo runs without
        the GIL, so a second context puts the second core to work (bench/render.py).

        ``pipeline``: whether ``submit`` draws in background threads while the caller goes on,
        e.g. with the next control step: whole frames, each drawn by whichever of ``threads``
        background contexts (made on its first call; a frame's cameras all in one) is free;
        else ``submit`` returns when the frame is drawn. None: on a CPU rasteriser with EGL or
        OSMesa and two cores. ``threads`` here may exceed the cameras (one camera, two frames
        at once)."""
        height, width = image_size
        missing = [c for c in cameras if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, c) < 0]
        if missing:
            raise ValueError(f"cameras {missing} are not in the scene")
        if not (0 < width <= model.vis.global_.offwidth and 0 < height <= model.vis.global_.offheight):
            hmax, wmax = model.vis.global_.offheight, model.vis.global_.offwidth
            raise UsageError(f"image size {height}x{width} (H x W) is outside the scene's offscreen "
                             f"buffer; choose --image-size H W with 1 <= H <= {hmax}, 1 <= W <= {wmax}")
        self.model = model
        self.cameras = list(cameras)
        self.height, self.width = height, width
        self.modes = {"rgb": rgb, "depth": depth, "mask": mask}
        self._specs = self.image_specs()
        self._scratch = None  # GL read buffers, made on the first frame
        check_rendering()
        if quality:
            model.vis.quality.offsamples = 4  # multisampling: read when the GL buffers are made
        check_tessellation(tessellation)
        self.tessellation = tuple(tessellation) if tessellation is not None else None
        self._gl = None
        self._con = None
        # Our own context rather than mujoco.Renderer's: its render() runs one pass per mode and
        # reads one buffer per pass. The set-up below is the one mujoco.Renderer makes.
        try:
            self._gl = mujoco.GLContext(width, height)
            self._gl.make_current()
            self._con = self._make_context(model, tessellation)
        except Exception as exc:  # mujoco.FatalError when no GL platform could be loaded
            try:
                self.close()
            except Exception:  # a half-made context may not free cleanly; the error below matters
                pass
            raise UsageError(f"{no_gl_message()} [{exc}]") from None
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN.value, self._con)
        self._con.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR
        self._rect = mujoco.MjrRect(0, 0, width, height)
        self.scene = mujoco.MjvScene(model, maxgeom=10000)
        self._option = mujoco.MjvOption()
        flags = self.scene.flags
        # Shadows, reflections and multisampling cost ~12x per frame on llvmpipe
        # (bench/render_quality.py); off unless asked.
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = quality
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = quality
        self._cam_ids = {c: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, c) for c in cameras}
        self._mjv_cams = {}
        for c, cid in self._cam_ids.items():
            cam = mujoco.MjvCamera()
            cam.type = mujoco.mjtCamera.mjCAMERA_FIXED
            cam.fixedcamid = cid
            self._mjv_cams[c] = cam
        self._geom_body = np.append(model.geom_bodyid, -1).astype(np.int32)
        # Geoms wholly outside a camera's view, and (when masks are rendered first) geoms that
        # own no pixel, are not drawn: _skip_outside, _skip_hidden. Shadows and reflections can
        # bring an unseen geom into the picture, so not with --render-quality; no frustum test
        # for cameras whose projection comes from sensor intrinsics rather than fovy.
        self.gl_renderer = renderer_name()
        if cull is None:
            cull = is_software_renderer(self.gl_renderer)
        self._skip_unseen = cull and not quality
        self._half_angles = {}
        for c, cid in self._cam_ids.items():
            if self._skip_unseen and not np.any(model.cam_sensorsize[cid]):
                ty = math.tan(0.5 * math.radians(model.cam_fovy[cid]))
                ax, ay = math.atan(ty * width / height), math.atan(ty)
                self._half_angles[c] = (math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay))
        self._depth_c, self._depth_d = depth_coefficients(model)
        # mujoco.Renderer renders depth in the segmentation pass. With the default settings the
        # ordinary pass writes the very same z-buffer (tested bit for bit), so RGB + depth is one
        # pass; multisampling and reflections (--render-quality) change it, so depth then comes
        # from the segmentation pass, as it does whenever that pass runs anyway (masks).
        self._depth_in_seg = depth and (mask or quality or not rgb)
        self._color_pass = rgb or (depth and not self._depth_in_seg)
        self._seg_pass = mask or self._depth_in_seg
        # Contexts in threads other than the one that made the first are measured (and safe) only
        # with the headless platforms; GLFW wants its windows in the main thread.
        spare_core = (is_software_renderer(self.gl_renderer) and (os.cpu_count() or 1) >= 2
                      and os.environ.get("MUJOCO_GL") in ("egl", "osmesa"))
        if threads is None:
            threads = 2 if spare_core and (len(self.cameras) >= 2 or pipeline is not False) else 1
        if int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.threads = min(int(threads), len(self.cameras)) if self.cameras else 1
        kw = dict(rgb=rgb, depth=depth, mask=mask, quality=quality, tessellation=tessellation, cull=cull)
        self._bins = self._deal()
        self._helpers = []
        self._kw = kw
        # Whether submit draws in background threads with contexts of their own ("pool") or
        # before it returns ("sync"). The pool deals whole frames, not a frame's cameras: no
        # context waits for another at the end of each frame, and the recorder's expert and
        # physics run meanwhile (five cameras at 128², bench/record.py: ~0.9x the step time of
        # the cameras split over two contexts while the recorder waits).
        pooled = spare_core if pipeline is None else bool(pipeline)
        self._mode = "pool" if pooled and self.cameras else "sync"
        self.pool_size = int(threads)
        self.in_flight = self.pool_size + self.IN_FLIGHT - 1  # every context busy, IN_FLIGHT - 1 queued
        self._pool = []  # submit's contexts, made on its first call
        self._inbox: queue.Queue = queue.Queue()  # their frames: the first free context takes one
        self._spare: "queue.Queue[mujoco.MjData]" = queue.Queue()  # state copies for submit

    def _start_helpers(self) -> None:
        """``render``'s contexts beside the calling thread's, made on its first call (recording
        in the pool never needs them)."""
        try:
            for k in range(1, self.threads):  # every context can draw every camera
                self._helpers.append(_RigThread(self.model, self.cameras, (self.height, self.width),
                                                self._kw, k))
        except BaseException:
            for h in self._helpers:
                h.close()
            self._helpers = []
            raise

    @staticmethod
    def _make_context(model: mujoco.MjModel, tessellation) -> mujoco.MjrContext:
        """The GL context's display lists. ``tessellation`` (opt-in, changes pixels): slices and
        stacks of MuJoCo's built-in spheres, capsules and cylinders, read only here, when the
        lists are made; the model keeps its own values. Their vertices are most of a small
        frame's cost on llvmpipe (bench/render.py)."""
        if tessellation is None:
            return mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_150.value)
        q = model.vis.quality
        saved = q.numslices, q.numstacks
        q.numslices, q.numstacks = tessellation
        try:
            return mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_150.value)
        finally:
            q.numslices, q.numstacks = saved

    def intrinsics(self, camera: str) -> np.ndarray:
        """RLBench's pinhole convention: the ray of pixel column u passes through integer u.
        MuJoCo renders pixel centres (column u samples u + 0.5 of the image plane), so the
        principal point sits half a pixel before the image centre: (W/2 - 0.5, H/2 - 0.5)."""
        fovy = math.radians(self.model.cam_fovy[self._cam_ids[camera]])
        f = 0.5 * self.height / math.tan(0.5 * fovy)
        cx, cy = self.width / 2.0 - 0.5, self.height / 2.0 - 0.5
        return np.array([[-f, 0.0, cx], [0.0, -f, cy], [0.0, 0.0, 1.0]])

    def extrinsics(self, data: mujoco.MjData, camera: str) -> np.ndarray:
        cid = self._cam_ids[camera]
        pose = np.eye(4)
        pose[:3, :3] = data.cam_xmat[cid].reshape(3, 3) @ _MJ_TO_RLBENCH
        pose[:3, 3] = data.cam_xpos[cid]
        return pose

    def near_far(self) -> Tuple[float, float]:
        extent = self.model.stat.extent
        return float(self.model.vis.map.znear * extent), float(self.model.vis.map.zfar * extent)

    def image_specs(self) -> Dict[str, Tuple[Tuple[int, ...], np.dtype]]:
        """Each array ``render`` returns: key -> (shape, dtype), in ``render``'s key order; what
        an ``out=`` dict must hold."""
        h, w = self.height, self.width
        kinds = {"mask": ((h, w), np.dtype(np.int32)), "rgb": ((h, w, 3), np.dtype(np.uint8)),
                 "depth": ((h, w), np.dtype(np.float32))}
        specs = {f"{cam}_{m}": kinds[m] for cam in self.cameras for m in ("mask", "rgb", "depth")
                 if self.modes[m]}
        return _in_key_order(self.cameras, specs)

    # --- the render path ------------------------------------------------------------------------
    def render(self, data: mujoco.MjData, out: Optional[Dict[str, np.ndarray]] = None) -> Dict[str, np.ndarray]:
        """The cameras' arrays (``image_specs``). ``out``: arrays to write them into (e.g. one
        frame's slots of a demo's stacked arrays, so no copy is made at the end; record_demo)."""
        if self._con is None:
            raise RuntimeError("render after close")
        if self.threads > 1 and not self._helpers:
            self._start_helpers()
        if not self._helpers:
            return self._render(data, self.cameras, out)
        own, *theirs = self._bins
        for h, cams in zip(self._helpers, theirs):  # they read ``data`` while this thread draws
            h.submit(data, cams, out=out)
        try:
            merged = self._render(data, own, out)
        except BaseException:
            for h in self._helpers:  # no frame's arrays may be left behind for the next call
                h.drain()
            raise
        for h in self._helpers:
            merged.update(h.result())
        return _in_key_order(self.cameras, merged)

    def submit(self, data: mujoco.MjData, out: Optional[Dict[str, np.ndarray]] = None) -> "RenderJob":
        """Start rendering ``data``'s present state and return at once (pipelined) or when done;
        ``.result()`` gives the arrays ``render`` would, in the same order (written into ``out``
        when given: it must not be read or reused before ``.result()``). The state is copied
        first (``mj_copyData``, ~12 us), so the caller may step the simulation on while the
        frame is drawn: recording overlaps a control step's physics and expert with the
        previous frame's renders (bench/record.py). At most ``in_flight`` frames are pending
        (every background context busy and ``IN_FLIGHT`` - 1 queued); the next ``submit``
        waits for one to finish."""
        if self._con is None:
            raise RuntimeError("render after close")
        if self._mode == "sync":
            job = RenderJob(self.cameras, 1, None)
            try:
                job._deliver(True, self.render(data, out))
            except BaseException as exc:  # noqa: BLE001 - re-raised by result(), as pipelined
                job._deliver(False, exc)
            return job
        if not self._pool:
            for k in range(self.pool_size):
                self._pool.append(_RigThread(self.model, self.cameras, (self.height, self.width),
                                             self._kw, 100 + k, inbox=self._inbox))
            for _ in range(self.in_flight):
                self._spare.put(mujoco.MjData(self.model))
        state = self._spare.get()  # waits while ``in_flight`` frames are being drawn
        mujoco.mj_copyData(state, self.model, data)
        job = RenderJob(self.cameras, 1, lambda: self._spare.put(state))
        self._inbox.put((state, self.cameras, job._deliver, out))
        return job

    def wait(self) -> None:
        """Return when no ``submit``ted frame is still being drawn (before the model changes:
        the frames read it as well as their copy of the state)."""
        if self._pool:
            held = [self._spare.get() for _ in range(self.in_flight)]  # every copy back = idle
            for state in held:
                self._spare.put(state)

    def _deal(self):
        """The cameras over the contexts (the calling thread's first): round-robin, and the
        calling thread, which also merges the arrays, never holds the most. For the five RLBench
        cameras: front, right_shoulder here; left_shoulder, overhead, wrist in the helper, the
        fastest of the splits measured (the wrist camera costs about half the others); a
        camera's arrays do not depend on its context. Measured per-camera costs dealt each frame
        were slower: timings taken while both threads run mislead the deal."""
        bins = [self.cameras[k::self.threads] for k in range(self.threads)]
        smallest = min(range(self.threads), key=lambda k: len(bins[k]))
        if len(bins[0]) > len(bins[smallest]) and len(bins[0]) == max(map(len, bins)):
            bins[smallest] = bins[smallest] + [bins[0][-1]]
            bins[0] = bins[0][:-1]
        return [[c for c in self.cameras if c in b] for b in bins]

    def _render(self, data: mujoco.MjData, cameras, dest=None) -> Dict[str, np.ndarray]:
        self._gl.make_current()
        out: Dict[str, np.ndarray] = {}
        m, scn, con, rect = self.model, self.scene, self._con, self._rect
        h, w = self.height, self.width
        want_rgb, want_depth, want_mask = self.modes["rgb"], self.modes["depth"], self.modes["mask"]
        if self._scratch is None:  # GL read buffers, reused every frame (this rig's thread only)
            self._scratch = dict(seg=np.empty((h, w, 3), np.uint8), rgb=np.empty((h, w, 3), np.uint8),
                                 z=np.empty((h, w), np.float32), z64=np.empty((h, w), np.float64))
        specs = self._specs

        def target(key):
            return dest[key] if dest is not None else np.empty(*specs[key])

        for cam in cameras:
            mujoco.mjv_updateScene(m, data, self._option, None, self._mjv_cams[cam],
                                   mujoco.mjtCatBit.mjCAT_ALL.value, scn)
            geoms = [scn.geoms[i] for i in range(scn.ngeom)]
            if cam in self._half_angles:
                self._skip_outside(geoms, data, cam)
            zbuf = self._scratch["z"] if want_depth else None
            if self._seg_pass:
                seg = self._scratch["seg"] if want_mask else None
                saved = [scn.flags[f] for f in _SEG_FLAGS]
                for f in _SEG_FLAGS:
                    scn.flags[f] = 1
                try:
                    mujoco.mjr_render(rect, scn, con)
                    mujoco.mjr_readPixels(seg, zbuf if self._depth_in_seg else None, rect, con)
                finally:
                    for f, v in zip(_SEG_FLAGS, saved):
                        scn.flags[f] = v
                if want_mask:
                    ids = self._segment_ids(seg, len(geoms))
                    key = f"{cam}_mask"
                    out[key] = target(key)
                    np.take(self._body_lut(geoms), ids, out=out[key], mode="clip")  # ids < len(lut)
                    if self._color_pass and self._skip_unseen:
                        self._skip_hidden(geoms, ids)
            if self._color_pass:
                rgb = self._scratch["rgb"] if want_rgb else None
                mujoco.mjr_render(rect, scn, con)
                mujoco.mjr_readPixels(rgb, None if self._depth_in_seg else zbuf, rect, con)
                if want_rgb:
                    key = f"{cam}_rgb"
                    out[key] = target(key)
                    np.copyto(out[key], rgb[::-1])  # GL rows run bottom-up
            if want_depth:
                key = f"{cam}_depth"
                out[key] = target(key)
                self._metres(zbuf, out[key])
        return out

    def _skip_outside(self, geoms, data: mujoco.MjData, cam: str) -> None:
        """Mark the scene geoms whose bounding sphere lies wholly outside the camera's view
        frustum as not drawn. They could not have covered a pixel, and without shadows or
        reflections nothing else depends on them, so the images are unchanged (tested bit for
        bit) while llvmpipe skips their vertices, which dominate a small frame's cost."""
        if not geoms:
            return
        cid = self._cam_ids[cam]
        radius = np.array([g.modelrbound for g in geoms])
        centre = np.array([g.pos for g in geoms], dtype=np.float64)
        # Camera frame (MuJoCo's: x right, y up, looking along -z).
        local = (centre - data.cam_xpos[cid]) @ data.cam_xmat[cid].reshape(3, 3)
        depth = -local[:, 2]
        cx, sx, cy, sy = self._half_angles[cam]
        margin = radius * 1.01 + 1e-3
        outside = (radius > 0) & ((np.abs(local[:, 0]) * cx - depth * sx > margin)
                                  | (np.abs(local[:, 1]) * cy - depth * sy > margin)
                                  | (depth < -margin))
        for i in np.flatnonzero(outside):
            geoms[i].type = _NONE

    @staticmethod
    def _skip_hidden(geoms, ids: np.ndarray) -> None:
        """After the segmentation pass, mark the geoms that own no pixel as not drawn in the
        ordinary pass: both passes rasterise the same triangles with the same depth test (their
        z-buffers are bit-identical), so a geom whose every fragment lost there loses here too,
        and removing a fragment that was later overwritten changes no final pixel. Not with a
        transparent geom in view (it blends with what is behind it)."""
        if any(g.transparent for g in geoms):
            return
        owns = np.bincount(ids.ravel(), minlength=len(geoms) + 1) > 0
        for g in geoms:
            if g.segid != -1 and not owns[g.segid + 1]:
                g.type = _NONE

    def _body_lut(self, geoms) -> np.ndarray:
        """segment colour -> body id (-1: background or not a geom), as ``mujoco.Renderer``'s
        (object id, object type) pairs mapped through geom -> body."""
        lut = np.full(len(geoms) + 1, -1, np.int32)  # colour 0 is the background
        for g in geoms:
            if g.segid != -1 and g.objtype == _GEOM:
                lut[g.segid + 1] = self._geom_body[g.objid]
        return lut

    @staticmethod
    def _segment_ids(seg: np.ndarray, ngeom: int) -> np.ndarray:
        """Segment colours (GL rows, bottom-up) -> segment ids + 1, image rows top-down."""
        flipped = seg[::-1]
        ids = flipped[..., 0].astype(np.intp)
        if ngeom >= 255:  # colours above 255 spill into the green and blue bytes
            ids |= flipped[..., 1].astype(np.intp) << 8
            ids |= flipped[..., 2].astype(np.intp) << 16
        return ids

    def _metres(self, zbuf: np.ndarray, dest: Optional[np.ndarray] = None) -> np.ndarray:
        # float64 arithmetic with float32 coefficients, then float32: mujoco.Renderer's steps
        # (d / (z.astype(float64) + c)).astype(float32), through this rig's scratch buffer.
        z64 = self._scratch["z64"] if self._scratch is not None else np.empty(zbuf.shape, np.float64)
        np.add(zbuf[::-1], self._depth_c, out=z64, dtype=np.float64)
        np.divide(self._depth_d, z64, out=z64)
        if dest is None:
            return z64.astype(np.float32)
        np.copyto(dest, z64, casting="same_kind")
        return dest

    def close(self):
        threads = [*getattr(self, "_helpers", []), *getattr(self, "_pool", [])]
        for h in threads:
            h.stop()  # a pool thread draws the frames queued before it stops
        for h in threads:
            h.close()
        self._helpers, self._pool = [], []
        if self._con is not None:
            if self._gl is not None:
                self._gl.make_current()
            self._con.free()
            self._con = None
        if self._gl is not None:
            self._gl.free()
            self._gl = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the GL library may already be gone
            pass


class RenderJob:
    """A frame that ``CameraRig.submit`` is drawing, in parts (one per context)."""

    def __init__(self, cameras, parts: int, release):
        self._cameras = cameras
        self._left = parts
        self._release = release
        self._arrays: Dict[str, np.ndarray] = {}
        self._error: Optional[BaseException] = None
        self._done = threading.Condition()

    def _deliver(self, ok: bool, value) -> None:
        with self._done:
            if ok:
                self._arrays.update(value)
            elif self._error is None:
                self._error = value
            self._left -= 1
            if self._left == 0:
                if self._release is not None:
                    self._release()  # the state copy may serve the next frame
                self._done.notify_all()

    def done(self) -> bool:
        with self._done:
            return self._left == 0

    def result(self) -> Dict[str, np.ndarray]:
        with self._done:
            self._done.wait_for(lambda: self._left == 0)
        if self._error is not None:
            raise self._error
        return _in_key_order(self._cameras, self._arrays)


def _in_key_order(cameras, merged: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """The keys in the order one context writes them: per camera, mask, rgb, depth."""
    return {k: merged[k] for cam in cameras
            for k in (f"{cam}_mask", f"{cam}_rgb", f"{cam}_depth") if k in merged}


class _RigThread:
    """A one-context ``CameraRig``, made, used and freed in its own thread (a GL context is
    current in one thread at a time, so it never leaves this one); each frame it draws the
    cameras it is handed."""

    def __init__(self, model, cameras, image_size, kw, index: int, inbox: Optional[queue.Queue] = None):
        self._in: queue.Queue = queue.Queue() if inbox is None else inbox  # shared: a pool's
        self._stopping = False
        self._out: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(model, cameras, image_size, kw),
                                        name=f"camera-rig-{index}", daemon=True)
        self._thread.start()
        ok, err = self._out.get()
        if not ok:
            raise err

    def _run(self, model, cameras, image_size, kw):
        try:
            rig = CameraRig(model, cameras, image_size, threads=1, **kw)
        except BaseException as exc:  # noqa: BLE001 - handed to the constructing thread
            self._out.put((False, exc))
            return
        self._out.put((True, None))
        try:
            while True:
                job = self._in.get()
                if job is None:
                    return
                data, cams, sink, out = job
                try:
                    arrays = rig._render(data, cams, out)
                except BaseException as exc:  # noqa: BLE001 - re-raised by result()
                    sink(False, exc)
                else:
                    sink(True, arrays)
        finally:
            rig.close()

    def submit(self, data, cameras, sink=None, out=None) -> None:
        """Draw ``cameras`` from ``data`` (into ``out``'s arrays when given); the outcome goes to
        ``sink(ok, arrays or error)`` (called in this rig's thread), or by default to ``result()``."""
        self._in.put((data, cameras, sink or (lambda ok, value: self._out.put((ok, value))), out))

    def drain(self) -> None:
        """Wait for the frame submitted last and drop it, error or arrays."""
        self._out.get()

    def result(self) -> Dict[str, np.ndarray]:
        """The arrays of the frame submitted last."""
        ok, value = self._out.get()
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        """Ask the thread to stop after the frames queued so far (one stop per thread: in a
        pool's shared inbox any thread may take any stop)."""
        if self._thread.is_alive() and not self._stopping:
            self._stopping = True
            self._in.put(None)

    def close(self) -> None:
        self.stop()
        self._thread.join()


def reference_renderer(model: mujoco.MjModel, image_size: Tuple[int, int],
                       quality: bool = False) -> mujoco.Renderer:
    """A ``mujoco.Renderer`` with the rig's scene flags, for ``render_three_pass``."""
    renderer = mujoco.Renderer(model, height=image_size[0], width=image_size[1])
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = quality
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = quality
    return renderer


def render_three_pass(renderer: mujoco.Renderer, data: mujoco.MjData, cameras: Sequence[str],
                      geom_body: np.ndarray, rgb: bool = True, depth: bool = True,
                      mask: bool = True) -> Dict[str, np.ndarray]:
    """The previous render path (one ``mujoco.Renderer`` pass per mode and camera), kept as the
    reference the tests compare against and the baseline bench/render.py measures."""
    out: Dict[str, np.ndarray] = {}
    for cam in cameras:
        renderer.update_scene(data, camera=cam)
        if rgb:
            out[f"{cam}_rgb"] = renderer.render()
        if depth:
            renderer.enable_depth_rendering()
            out[f"{cam}_depth"] = renderer.render().astype(np.float32, copy=False)
            renderer.disable_depth_rendering()
        if mask:
            renderer.enable_segmentation_rendering()
            seg = renderer.render()
            renderer.disable_segmentation_rendering()
            geom_ids = np.where(seg[..., 1] == _GEOM, seg[..., 0], -1)
            out[f"{cam}_mask"] = geom_body[geom_ids]
    return out
