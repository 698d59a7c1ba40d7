"""A contact sheet: one row per episode, the front-camera image at each keypoint, labelled."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Sequence

import cv2
import numpy as np

from robotr1_data.config import opt
from robotr1_data.errors import UsageError


@dataclasses.dataclass
class ContactSheetConfig:
    shards: List[str] = opt(help="shard files or dataset directories", positional=True,
                            metavar="SHARDS")
    out: str = opt(help="the PNG to write")
    camera: str = opt("front", "camera whose images are shown")

    def validate(self) -> None:
        if not str(self.out).strip():
            raise UsageError("--out is empty; name the PNG to write")
        if Path(self.out).is_dir():
            raise UsageError(f"--out '{self.out}' is a directory; name a .png file")
        if Path(self.out).suffix.lower() != ".png":
            raise UsageError(f"--out '{self.out}' must end in .png")


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 14), (0, 0, 0), thickness=-1)
    cv2.putText(out, text, (2, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


def contact_sheet(shards: Sequence[Path], out_png: Path, camera: str = "front",
                  max_cols: int = 8, max_rows: int = 12) -> Path:
    from robotr1_data.shards import ShardReader

    rows: List[np.ndarray] = []
    tile_shape = None
    for shard in shards:
        with ShardReader(shard) as r:
            for ep in r.episodes:
                if len(rows) >= max_rows:
                    break
                attrs = r.attrs(ep)
                key = f"{camera}_rgb"
                frames = [0] + [int(k) for k in r.low_dim(ep, "keypoints")]
                tiles = []
                for i, f in enumerate(frames[:max_cols]):
                    try:
                        img = r.frame(ep, key, f)
                    except (KeyError, ValueError):
                        continue
                    name = "start" if i == 0 else f"kp{i} t={f}"
                    tiles.append(_label(img, name))
                if not tiles:
                    continue
                tile_shape = tiles[0].shape
                head = np.full((tile_shape[0], 150, 3), 255, np.uint8)
                for j, line in enumerate([attrs["task"], f"variation {attrs['variation']}",
                                          f"seed {attrs['seed'] % 100000}"]):
                    cv2.putText(head, line, (4, 18 + 16 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                                (0, 0, 0), 1, cv2.LINE_AA)
                while len(tiles) < max_cols:
                    tiles.append(np.full(tile_shape, 235, np.uint8))
                rows.append(np.concatenate([head] + tiles, axis=1))
    if not rows:
        raise UsageError(f"no '{camera}' images in the shards; record with --cameras {camera} "
                         f"or choose another --camera")
    sheet = np.concatenate(rows, axis=0)
    out_png = Path(out_png)
    from robotr1_data.errors import output_dir
    from robotr1_data.gallery import write_png
    output_dir(out_png.parent, "directory of --out")
    return write_png(out_png, sheet)
