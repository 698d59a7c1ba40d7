"""RLBench dataset_generator layout: folder and file names, and the PNG encodings.

- RGB: ``<cam>_rgb/<i>.png``, 8-bit RGB.
- Depth: ``<cam>_depth/<i>.png``: the depth normalised to 0..1 between the camera's near and far
  planes, times 2^24 - 1, rounded, packed into 24 bits of an RGB PNG with red the high byte.
  Metres = near + d * (far - near).
- Mask: ``<cam>_mask/<i>.png``: RGB-coded object handles, handle = R + 256 G + 65536 B.

The one place for these codecs: the live RLBench backend (``backends/rlbench/observations.py``)
decodes RLBench's normalised depth and RGB-coded masks with the same functions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

# File and folder names (RLBench's rlbench/backend/const.py spells them the same way).
LOW_DIM_PICKLE = "low_dim_obs.pkl"
VARIATION_DESCRIPTIONS = "variation_descriptions.pkl"
VARIATION_NUMBER = "variation_number.pkl"
EPISODES_FOLDER = "episodes"
EPISODE_FOLDER = "episode%d"
VARIATIONS_FOLDER = "variation%d"
VARIATIONS_ALL_FOLDER = "all_variations"
IMAGE_FORMAT = "%d.png"
IMAGE_KINDS = ("rgb", "depth", "mask")

DEPTH_SCALE = 2 ** 24 - 1
# Our masks hold body ids with -1 for background; exported handles are id + 1 so that the
# background is handle 0 and every handle is a non-negative 24-bit number.
MASK_HANDLE_OFFSET = 1


def float_to_rgb24(values: np.ndarray, scale: float = DEPTH_SCALE) -> np.ndarray:
    """(H, W) floats in 0..1 -> (H, W, 3) uint8, round(v * scale) with red the high byte."""
    q = np.floor(np.clip(np.asarray(values, np.float64), 0.0, 1.0) * scale + 0.5).astype(np.uint32)
    return np.stack([(q >> 16) & 0xFF, (q >> 8) & 0xFF, q & 0xFF], axis=-1).astype(np.uint8)


def rgb24_to_float(image: np.ndarray, scale: float = DEPTH_SCALE) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) float64 in 0..1 (RLBench's image_to_float_array)."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[-1] < 3:
        raise ValueError(f"expected an RGB-packed depth image, got shape {img.shape}")
    img = img[..., :3].astype(np.int64)
    return (65536 * img[..., 0] + 256 * img[..., 1] + img[..., 2]).astype(np.float64) / scale


def metres_to_normalised(depth_m: np.ndarray, near: float, far: float) -> np.ndarray:
    """Metres -> RLBench's depth normalised to 0..1 between the near and far planes (float64)."""
    return (np.asarray(depth_m, np.float64) - near) / (far - near)


def normalised_to_metres(depth: np.ndarray, near: float, far: float) -> np.ndarray:
    """RLBench's normalised 0..1 depth -> metres, near + d * (far - near) (float64)."""
    return near + np.asarray(depth, np.float64) * (far - near)


def depth_to_png(depth_m: np.ndarray, near: float, far: float) -> np.ndarray:
    """Metres -> the 24-bit packed normalised depth image."""
    return float_to_rgb24(metres_to_normalised(depth_m, near, far))


def depth_from_png(image: np.ndarray, near: float, far: float) -> np.ndarray:
    """The 24-bit packed normalised depth image -> metres (float32)."""
    return normalised_to_metres(rgb24_to_float(image), near, far).astype(np.float32)


def handles_to_rgb(handles: np.ndarray) -> np.ndarray:
    """(H, W) non-negative ints < 2^24 -> RGB-coded (H, W, 3) uint8."""
    h = np.asarray(handles, np.int64)
    if h.size and (h.min() < 0 or h.max() >= 2 ** 24):
        raise ValueError("mask handles must lie in 0..2^24-1")
    return np.stack([h & 0xFF, (h >> 8) & 0xFF, (h >> 16) & 0xFF], axis=-1).astype(np.uint8)


def handles_from_rgb(image: np.ndarray) -> np.ndarray:
    """RGB-coded (H, W, 3) -> (H, W) int64, R + 256 G + 65536 B. uint8 as in the mask PNGs; a
    float 0..1 image (what a live RLBench returns with masks_as_one_channel=False) is scaled
    to 0..255 first."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[-1] < 3:
        raise ValueError(f"expected an RGB image, got shape {img.shape}")
    img = img[..., :3]
    if img.dtype != np.uint8:
        img = np.clip(np.round(np.asarray(img, np.float64) * 255.0), 0, 255)
    img = img.astype(np.int64)
    return img[..., 0] + 256 * img[..., 1] + 65536 * img[..., 2]


def read_png(path: Union[str, os.PathLike]) -> np.ndarray:
    """A PNG as a uint8 array (H, W, 3) for RGB, as RLBench's loaders read it (PIL)."""
    from PIL import Image
    with Image.open(path) as im:
        if im.mode != "RGB":
            im = im.convert("RGB")
        return np.asarray(im)


def write_png(path: Union[str, os.PathLike], image: np.ndarray) -> None:
    """Write (H, W, 3) uint8 as RLBench does (PIL's PNG writer, default settings)."""
    from PIL import Image
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(Path(path))
