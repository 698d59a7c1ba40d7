"""robotr1_data: simulator, tasks, expert demos, keypoints, HDF5 shards and questions.

Nothing here imports torch or transformers: the data side installs and runs without the
``train`` extra.
"""

__version__ = "0.1.0"
