"""Fake vision sensor: ray-casts the fake world's spheres and the table plane.

Conventions as PyRep's: ``get_matrix()`` is camera->world with the camera looking along +z,
x left, y up; ``get_intrinsic_matrix()`` has negative focal lengths; ``capture_rgb()`` is float
0..1; ``capture_depth(False)`` is normalised 0..1 between near and far (z-depth).
"""

import math

import numpy as np

from pyrep.const import RenderMode
from pyrep.objects.object import Object

TABLE_Z = 0.752
TABLE_X = (-0.35, 0.85)
TABLE_Y = (-0.75, 0.75)


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    z = target - eye
    z /= np.linalg.norm(z)
    up = np.asarray(up, float)
    if abs(np.dot(up, z)) > 0.99:
        up = np.array([1.0, 0.0, 0.0])
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, z, eye
    return m


class VisionSensor(Object):
    def __init__(self, name_or_handle):
        super().__init__(name_or_handle)
        self.resolution = [128, 128]
        self.perspective_angle = 40.0
        self.near, self.far = 0.01, 3.5
        self.render_mode = RenderMode.OPENGL3
        self.pose = np.eye(4)
        self.scene_shapes = lambda: []  # set by the fake Scene: [(handle, centre, radius, rgb)]
        self.table_handle = 0
        self.coded = False  # a mask sensor: capture_rgb() returns colour-coded handles

    # --- properties -----------------------------------------------------------------------
    def set_explicit_handling(self, value=1):
        pass

    def handle_explicitly(self):
        pass

    def set_resolution(self, resolution):
        self.resolution = [int(resolution[0]), int(resolution[1])]

    def get_resolution(self):
        return list(self.resolution)

    def set_render_mode(self, render_mode):
        self.render_mode = render_mode

    def get_near_clipping_plane(self) -> float:
        return self.near

    def get_far_clipping_plane(self) -> float:
        return self.far

    def get_matrix(self, relative_to=None) -> np.ndarray:
        return self.pose.copy()

    def get_intrinsic_matrix(self) -> np.ndarray:
        w, h = self.resolution
        f = 0.5 * h / math.tan(math.radians(self.perspective_angle) / 2)
        return np.array([[-f, 0.0, w / 2.0], [0.0, -f, h / 2.0], [0.0, 0.0, 1.0]])

    # --- rendering ------------------------------------------------------------------------
    def _cast(self):
        w, h = self.resolution
        k = self.get_intrinsic_matrix()
        f, cx, cy = -k[0, 0], k[0, 2], k[1, 2]
        u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
        d_cam = np.stack([(cx - u) / f, (cy - v) / f, np.ones_like(u)], -1)  # z-component 1
        rot, eye = self.pose[:3, :3], self.pose[:3, 3]
        d = d_cam @ rot.T  # world direction per unit z-depth
        z = np.full((h, w), np.inf)
        handle = np.zeros((h, w), np.int64)
        color = np.zeros((h, w, 3))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (TABLE_Z - eye[2]) / d[..., 2]
        p = eye + t[..., None] * d
        on = ((t > 0) & (p[..., 0] > TABLE_X[0]) & (p[..., 0] < TABLE_X[1])
              & (p[..., 1] > TABLE_Y[0]) & (p[..., 1] < TABLE_Y[1]))
        z[on], handle[on] = t[on], self.table_handle
        color[on] = (0.55, 0.4, 0.3)
        for h_obj, centre, radius, rgb in self.scene_shapes():
            oc = eye - np.asarray(centre)
            a = np.einsum("ijk,ijk->ij", d, d)
            b = 2 * np.einsum("ijk,k->ij", d, oc)
            c = oc @ oc - radius * radius
            disc = b * b - 4 * a * c
            hit = disc >= 0
            t_s = np.where(hit, (-b - np.sqrt(np.where(hit, disc, 0))) / (2 * a), np.inf)
            closer = hit & (t_s > 0) & (t_s < z)
            z[closer], handle[closer] = t_s[closer], h_obj
            color[closer] = rgb
        z = np.clip(z, self.near, self.far)
        shade = 1.0 - 0.4 * (z - self.near) / (self.far - self.near)
        return z, handle, np.clip(color * shade[..., None], 0, 1)

    def capture_rgb(self) -> np.ndarray:
        if self.coded:
            return self.capture_mask_rgb()
        return self._cast()[2].astype(np.float32)

    def capture_depth(self, in_meters: bool = False) -> np.ndarray:
        z = self._cast()[0]
        if not in_meters:
            z = (z - self.near) / (self.far - self.near)
        return z.astype(np.float32)

    def capture_mask_rgb(self) -> np.ndarray:
        """The mask sensor's view: handles colour-coded R + 256 G + 65536 B, as float 0..1."""
        handle = self._cast()[1]
        rgb = np.stack([handle % 256, (handle // 256) % 256, handle // 65536], -1)
        return (rgb / 255.0).astype(np.float32)

    def pointcloud_from_depth(self, depth: np.ndarray) -> np.ndarray:
        w, h = self.resolution
        k = self.get_intrinsic_matrix()
        f, cx, cy = -k[0, 0], k[0, 2], k[1, 2]
        u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
        pc = np.stack([(cx - u) / f * depth, (cy - v) / f * depth, depth], -1)
        return pc @ self.pose[:3, :3].T + self.pose[:3, 3]
