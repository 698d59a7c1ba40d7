"""Render ideas that bench/render.py measures but the render path does not keep.

Both give arrays bit-identical to ``CameraRig``'s (bench/render.py checks that before timing),
and neither bought CPU time when measured (docs/benchmarks.md, "Rendering"), so they live here,
with the benchmark, rather than in robotr1_data:

* ``PlaneQuadRig``: draws only the floor's grid quads that can fall inside each camera's view
  (MuJoCo draws a 4 m plane as 42 x 42 quads; a camera sees a fifth of them or fewer).
* ``PipelinedRig``: one offscreen buffer per camera, so every camera's pass is submitted before
  any is read back and llvmpipe rasterises one camera while the next one's vertices are
  processed (it can only save wall time, and only with an idle core).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Tuple

import numpy as np

from robotr1_data.backends.mujoco.cameras import _GEOM, _NONE, _SEG_FLAGS, CameraRig

import mujoco  # noqa: E402  (after robotr1_data.backends.mujoco, which picks the GL platform)

_PLANE = mujoco.mjtGeom.mjGEOM_PLANE
MAX_PLANE_GRID = 200  # mjMAXPLANEGRID
MINVAL = 1e-15  # mjMINVAL
OFFSCREEN = mujoco.mjtFramebuffer.mjFB_OFFSCREEN.value


def plane_grid(model: mujoco.MjModel, geom: int) -> Tuple[np.ndarray, np.ndarray]:
    """The x and y grid lines of the display list MuJoCo draws for a plane geom: the same
    float64 steps as makePlane in MuJoCo's render_context.c, so the quads we draw from it have
    the very vertices MuJoCo's list has."""
    lines = []
    for k in range(2):
        s = float(model.geom_size[geom, k])
        if s > 0:
            step = max(float(model.geom_size[geom, 2]), s / (MAX_PLANE_GRID - 2))
            n = int(math.floor(s / max(MINVAL, step)))
            n -= n % 2
            pad = s - n * step
            n += 2
            grid = np.empty(n + 1)
            for x in range(n):
                if x == 0:
                    left = -s
                    right = left + pad
                else:
                    left = -s + pad + (x - 1) * step * 2
                    right = left + (pad if x == n - 1 else step * 2)
                grid[x] = left
                grid[x + 1] = max(left, right)
        else:  # infinite planes: not handled (their list's texture coordinates were not checked)
            raise ValueError("infinite plane")
        lines.append(grid)
    return lines[0], lines[1]


class _PlaneQuads:
    """Plane geoms drawn as only the grid quads that can fall inside a camera's view.

    MuJoCo draws a plane as one display list of grid quads (a 4 m floor: 42 x 42 quads, 7,056
    vertices), and a camera sees a fifth of it or less. We compile display lists holding the
    same quads, vertex for vertex and in the same order, minus those wholly outside the
    camera's view frustum, and point the scene geom at them (``dataid``: MuJoCo calls list
    ``basePlane + dataid + 1``). A quad outside the frustum covers no pixel and, without
    shadows or reflections, affects nothing else; every other quad goes through the same vertex
    and raster steps as before, so the images are unchanged (bench/render.py checks it).
    MuJoCo has no hook for this, hence our own lists (PyOpenGL, which mujoco's GL contexts
    already use). Not kept: the floor is ~7 % of a frame's vertices (the arm's and objects'
    capsules and cylinders are the rest), and no CPU time was saved."""

    CACHE = 64  # compiled lists kept; the fixed cameras' sets repeat, the wrist camera's move

    def __init__(self, model: mujoco.MjModel, con: mujoco.MjrContext):
        from OpenGL import GL  # noqa: PLC0415  (after MUJOCO_GL picked the platform)
        self._gl = GL
        self._base = con.basePlane
        self._lists: "OrderedDict[Tuple[int, bytes], int]" = OrderedDict()
        self._planes = {}
        for g in np.flatnonzero((model.geom_type == _PLANE) & np.all(model.geom_size[:, :2] > 0, 1)):
            # (infinite planes keep MuJoCo's own list: their texture coordinates are not checked)
            gx, gy = plane_grid(model, int(g))
            corners = np.stack(np.meshgrid(gx, gy, indexing="ij"), -1)  # (nx+1, ny+1, 2)
            # The list's vertex order: x outer, y inner; per quad (x,y) (x+1,y) (x+1,y+1) (x,y+1).
            quads = np.stack([corners[:-1, :-1], corners[1:, :-1], corners[1:, 1:],
                              corners[:-1, 1:]], 2).reshape(-1, 4, 2)
            # MuJoCo 4's list also carries texture coordinates, (0, 1) across the plane: read
            # back from its list (GL feedback), they equal these bit for bit.
            sx, sy = model.geom_size[g, :2]
            tex = np.stack([0.5 + quads[..., 0] / (2 * sx), 0.5 - quads[..., 1] / (2 * sy)], -1)
            self._planes[int(g)] = (corners, np.concatenate(
                [quads, np.zeros(quads.shape[:2] + (1,)), tex], -1))

    def cull(self, geom, data: mujoco.MjData, cid: int, angles) -> None:
        """Point plane ``geom`` (a scene geom) at a list of its quads that can show in camera
        ``cid``, or mark it not drawn when none can."""
        if geom.objid not in self._planes:
            return
        corners, quads = self._planes[geom.objid]
        mat = np.asarray(geom.mat, np.float64).reshape(3, 3)
        world = corners @ mat[:, :2].T + np.asarray(geom.pos, np.float64)
        local = (world - data.cam_xpos[cid]) @ data.cam_xmat[cid].reshape(3, 3)
        x, y, depth = local[..., 0], local[..., 1], -local[..., 2]
        cx, sx, cy, sy = angles
        margin = 1e-3
        visible = np.ones((corners.shape[0] - 1, corners.shape[1] - 1), bool)
        for out in (x * cx - depth * sx > margin, -x * cx - depth * sx > margin,
                    y * cy - depth * sy > margin, -y * cy - depth * sy > margin,
                    depth < -margin):
            visible &= ~(out[:-1, :-1] & out[1:, :-1] & out[1:, 1:] & out[:-1, 1:])
        visible = visible.ravel()
        if not visible.any():
            geom.type = _NONE
            return
        if visible.all():
            return
        key = (geom.objid, np.packbits(visible).tobytes())
        lst = self._lists.get(key)
        if lst is None:
            lst = self._compile(quads[visible])
            if lst <= self._base:  # dataid must stay >= 0 (texture scaling reads it): draw all
                self._gl.glDeleteLists(lst, 1)
                return
            self._lists[key] = lst
            if len(self._lists) > self.CACHE:
                self._gl.glDeleteLists(self._lists.popitem(last=False)[1], 1)
        else:
            self._lists.move_to_end(key)
        geom.dataid = lst - self._base - 1

    def _compile(self, quads: np.ndarray) -> int:
        GL = self._gl
        lst = GL.glGenLists(1)
        verts = np.ascontiguousarray(quads[..., :3].reshape(-1, 3))  # float64, as MuJoCo's glVertex3d
        tex = np.ascontiguousarray(quads[..., 3:].reshape(-1, 2))
        GL.glNewList(lst, GL.GL_COMPILE)
        GL.glNormal3d(0.0, 0.0, 1.0)
        GL.glEnableClientState(GL.GL_VERTEX_ARRAY)
        GL.glEnableClientState(GL.GL_TEXTURE_COORD_ARRAY)
        GL.glVertexPointer(3, GL.GL_DOUBLE, 0, verts)
        GL.glTexCoordPointer(2, GL.GL_DOUBLE, 0, tex)
        GL.glDrawArrays(GL.GL_QUADS, 0, len(verts))
        GL.glDisableClientState(GL.GL_TEXTURE_COORD_ARRAY)
        GL.glDisableClientState(GL.GL_VERTEX_ARRAY)
        GL.glEndList()
        return lst


class PlaneQuadRig(CameraRig):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plane_quads = (_PlaneQuads(self.model, self._con)
                             if self._half_angles and np.any(self.model.geom_type == _PLANE) else None)

    def _skip_outside(self, geoms, data, cam):
        super()._skip_outside(geoms, data, cam)
        if self._plane_quads is not None:
            for g in geoms:
                if g.type == _PLANE and g.objtype == _GEOM:
                    self._plane_quads.cull(g, data, self._cam_ids[cam], self._half_angles[cam])


class PipelinedRig(CameraRig):
    """All five cameras' segmentation passes, then all their ordinary passes, each camera into
    its own offscreen buffer (one ``MjrContext`` per camera: same model, same GL context, same
    display lists), read back only after all are submitted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._gl.make_current()
        self._cons, self._scenes = {}, {}
        for cam in self.cameras:
            con = mujoco.MjrContext(self.model, mujoco.mjtFontScale.mjFONTSCALE_150.value)
            mujoco.mjr_setBuffer(OFFSCREEN, con)
            con.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR
            scn = mujoco.MjvScene(self.model, maxgeom=10000)
            for f in range(len(scn.flags)):
                scn.flags[f] = self.scene.flags[f]
            self._cons[cam], self._scenes[cam] = con, scn

    def render(self, data):
        assert self.modes == {"rgb": True, "depth": True, "mask": True} and self._skip_unseen
        self._gl.make_current()
        m, rect, h, w = self.model, self._rect, self.height, self.width
        out, geoms_of, zbufs = {}, {}, {}
        for cam in self.cameras:
            scn, con = self._scenes[cam], self._cons[cam]
            mujoco.mjv_updateScene(m, data, self._option, None, self._mjv_cams[cam],
                                   mujoco.mjtCatBit.mjCAT_ALL.value, scn)
            geoms = geoms_of[cam] = [scn.geoms[i] for i in range(scn.ngeom)]
            if cam in self._half_angles:
                self._skip_outside(geoms, data, cam)
            for f in _SEG_FLAGS:
                scn.flags[f] = 1
            mujoco.mjr_setBuffer(OFFSCREEN, con)
            mujoco.mjr_render(rect, scn, con)
            for f in _SEG_FLAGS:
                scn.flags[f] = 0
        for cam in self.cameras:
            scn, con, geoms = self._scenes[cam], self._cons[cam], geoms_of[cam]
            seg, zbufs[cam] = np.empty((h, w, 3), np.uint8), np.empty((h, w), np.float32)
            mujoco.mjr_setBuffer(OFFSCREEN, con)
            mujoco.mjr_readPixels(seg, zbufs[cam], rect, con)
            ids = self._segment_ids(seg, len(geoms))
            out[f"{cam}_mask"] = self._body_lut(geoms)[ids]
            self._skip_hidden(geoms, ids)
            mujoco.mjr_render(rect, scn, con)
        for cam in self.cameras:
            rgb = np.empty((h, w, 3), np.uint8)
            mujoco.mjr_setBuffer(OFFSCREEN, self._cons[cam])
            mujoco.mjr_readPixels(rgb, None, rect, self._cons[cam])
            out[f"{cam}_rgb"] = rgb[::-1].copy()
            out[f"{cam}_depth"] = self._metres(zbufs[cam])
        return out

    def close(self):
        if getattr(self, "_cons", None) and self._gl is not None:
            self._gl.make_current()
            for con in self._cons.values():
                con.free()
            self._cons = {}
        super().close()
