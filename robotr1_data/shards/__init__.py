"""HDF5 shards: writing, reading, validating and describing episode files.

The format is specified in docs/format.md (and, as data, in ``_spec.py``). In short: one file
holds many episodes under ``episodes/<NNNNNN>``; datasets carry RLBench observation names and
``units`` attributes; images are chunked one frame per chunk; a dataset directory's
``manifest.json`` lists its shards with checksums.
"""

from ._spec import MANIFEST_NAME, SCHEMA_VERSION, SHARD_SUFFIX
from .summary import describe
from .manifest import file_sha256, read_manifest, shard_entry, write_manifest
from .reader import ShardReader, open_shard
from .validate import validate_dir, validate_shard
from .writer import ShardWriter

__all__ = [
    "SCHEMA_VERSION", "MANIFEST_NAME", "SHARD_SUFFIX",
    "ShardWriter", "ShardReader", "open_shard",
    "file_sha256", "shard_entry", "write_manifest", "read_manifest",
    "validate_dir", "validate_shard", "describe",
]
