import numpy as np


def rgb_handles_to_mask(rgb_coded_handles):
    # CoppeliaSim codes each object's handle as R + 256 G + 65536 B in a mask sensor image.
    rgb_coded_handles *= 255  # takes rgb range to 0 -> 255
    rgb_coded_handles.astype(int)
    return (rgb_coded_handles[:, :, 0] + rgb_coded_handles[:, :, 1] * 256
            + rgb_coded_handles[:, :, 2] * 256 * 256)
