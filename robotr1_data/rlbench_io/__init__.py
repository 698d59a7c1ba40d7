"""RLBench dataset interop without RLBench: read and write the ``dataset_generator`` layout.

- ``unpickle``: a restricted unpickler that loads RLBench's ``low_dim_obs.pkl`` into local
  stand-in classes and refuses every other global (pickles are code execution).
- ``codec``: the layout's names and its PNG encodings (24-bit depth, RGB-coded mask handles).
- ``importer``: an RLBench folder -> our HDF5 shards (``robotr1-data import-rlbench``).
- ``exporter``: our shards -> an RLBench folder (``robotr1-data export-rlbench``).

See docs/rlbench_io.md.
"""

from .classes import Demo, Observation
from .unpickle import UnsafePickleError, dump_rlbench, safe_load, safe_loads

__all__ = ["Demo", "Observation", "UnsafePickleError", "dump_rlbench", "safe_load", "safe_loads"]
