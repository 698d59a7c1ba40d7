"""robotr1_train: datasets over QA stores, rewards, GRPO/SFT trainers, policies, evaluation.

Heavy dependencies (torch, transformers) are imported inside the modules that need them, so
``robotr1_train.rewards`` stays importable on the data-only install.
"""

__version__ = "0.1.0"
