"""Robot-R1 embodied-reasoning questions from shards (docs/qa.md).

- ``templates``: every prompt/target string, versioned (``TEMPLATE_VERSION``);
- ``movement``: the paper's movement labels and adjacent-movement distractors;
- ``distractors``: workspace state distractors and balanced answer letters;
- ``builder``: ``build_qa`` (``robotr1-data build-qa``) and ``QAConfig``;
- ``store``: ``read_records``, ``load_image``; ``export``: ``export_qa``;
- ``commands``: ``register(subparsers)`` for the CLI.
"""

from .templates import TEMPLATE_VERSION  # noqa: F401
