"""Episode videos: the front view with the predicted and the true next keypoint drawn on it.

World points are projected with the camera's RLBench-convention parameters (see
``robotr1_data.backends.mujoco.cameras``): extrinsics camera->world with the camera looking
along +z, x left, y up; intrinsics with negative focal lengths, so ``[u, v, 1] ~ K @ p_cam``
lands in pixel coordinates (u right, v down) directly.

Writers, first available wins: imageio's ffmpeg plugin (``imageio-ffmpeg``), OpenCV's ``mp4v``
encoder (both give ``.mp4``), else an animated GIF with imageio's pillow plugin (``.gif``).
``video_backend()`` says which one this machine has.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import tempfile
from typing import List, Optional, Sequence, Tuple

import numpy as np

PRED_COLOR = (230, 40, 40)  # RGB: predicted keypoint
TRUE_COLOR = (40, 200, 60)  # RGB: the expert's (true) next keypoint
MIN_SIDE = 256  # frames are upscaled (nearest) to at least this many pixels before drawing


def project(points: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel (u, v) of world points (N, 3) and whether each lies in front of the camera."""
    pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
    world_to_cam = np.linalg.inv(np.asarray(extrinsics, dtype=np.float64))
    cam = pts @ world_to_cam[:3, :3].T + world_to_cam[:3, 3]
    in_front = cam[:, 2] > 1e-6
    z = np.where(in_front, cam[:, 2], 1.0)
    uvw = cam @ np.asarray(intrinsics, dtype=np.float64).T
    return uvw[:, :2] / z[:, None], in_front


@functools.lru_cache(maxsize=1)
def video_backend() -> str:
    """``"imageio-ffmpeg"``, ``"cv2"`` or ``"gif"``: how videos are written here."""
    if importlib.util.find_spec("imageio_ffmpeg") is not None:
        return "imageio-ffmpeg"
    try:
        import cv2

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "probe.mp4")
            w = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 10, (16, 16))
            ok = w.isOpened()
            if ok:
                for _ in range(2):
                    w.write(np.zeros((16, 16, 3), np.uint8))
            w.release()
            if ok and os.path.getsize(path) > 0:
                return "cv2"
    except Exception:  # noqa: BLE001 - any failure means "not available"
        pass
    return "gif"


def video_extension() -> str:
    return ".gif" if video_backend() == "gif" else ".mp4"


def write_video(stem: str, frames: Sequence[np.ndarray], fps: int = 20) -> Optional[str]:
    """Write RGB frames to ``stem`` + extension; returns the path (None when there are no frames)."""
    if not frames:
        return None
    os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
    backend = video_backend()
    path = stem + video_extension()
    if backend == "imageio-ffmpeg":
        import imageio.v2 as imageio

        imageio.mimwrite(path, [np.asarray(f) for f in frames], fps=fps, macro_block_size=1)
    elif backend == "cv2":
        import cv2

        h, w = frames[0].shape[:2]
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        for f in frames:
            writer.write(cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2BGR))
        writer.release()
    else:
        import imageio.v2 as imageio

        imageio.mimwrite(path, [np.asarray(f) for f in frames], duration=1000.0 / fps, loop=0)
    return path


def annotate(frame: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray,
             predicted: Optional[Sequence[float]], true: Optional[Sequence[float]],
             caption: str = "") -> np.ndarray:
    """The frame (upscaled to at least MIN_SIDE) with the keypoints drawn: predicted as a red
    cross in a circle, true as a green ring; a caption line at the top."""
    import cv2

    img = np.ascontiguousarray(frame[..., :3])
    h, w = img.shape[:2]
    scale = max(1, int(np.ceil(MIN_SIDE / max(1, min(h, w)))))
    if scale > 1:
        img = cv2.resize(img, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
    img = img.copy()
    r = max(4, int(0.03 * img.shape[0]))
    for point, color, kind in ((true, TRUE_COLOR, "ring"), (predicted, PRED_COLOR, "cross")):
        if point is None:
            continue
        uv, front = project(np.asarray(point, float)[None], intrinsics, extrinsics)
        if not front[0] or not np.all(np.isfinite(uv)):
            continue
        u, v = (uv[0] * scale).round().astype(int)
        if not (-r <= u < img.shape[1] + r and -r <= v < img.shape[0] + r):
            continue
        if kind == "ring":
            cv2.circle(img, (int(u), int(v)), r + 2, color, 2, cv2.LINE_AA)
        else:
            cv2.circle(img, (int(u), int(v)), r, color, 1, cv2.LINE_AA)
            cv2.drawMarker(img, (int(u), int(v)), color, cv2.MARKER_CROSS, 2 * r, 2, cv2.LINE_AA)
    if caption:
        cv2.rectangle(img, (0, 0), (img.shape[1], 16), (0, 0, 0), -1)
        cv2.putText(img, caption[:80], (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
    return img


class EpisodeVideo:
    """Collects annotated frames of one episode."""

    def __init__(self, camera: str = "front", every: int = 1):
        self.camera, self.every = camera, max(1, int(every))
        self.frames: List[np.ndarray] = []
        self._count = 0

    def maybe_add(self, sim, predicted, true, caption: str, force: bool = False) -> Optional[dict]:
        """Render and keep a frame every ``every`` calls (or when ``force``); returns the render."""
        self._count += 1
        if not force and (self._count - 1) % self.every:
            return None
        images = sim.render()
        key = f"{self.camera}_rgb"
        if key not in images:
            return images
        params = sim.camera_parameters()[self.camera]
        self.frames.append(annotate(images[key], params["intrinsics"], params["extrinsics"],
                                    predicted, true, caption))
        return images
