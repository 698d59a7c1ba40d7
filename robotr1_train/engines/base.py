"""What every engine shares: the request type and the one prompt renderer. A module of its own so
the engine implementations import it without importing the package that chooses between them."""

from __future__ import annotations

from typing import Any, List, Sequence, Tuple

Request = Tuple[List[dict], Sequence[Any]]


def render_prompt(processor, messages: List[dict]) -> str:
    """The prompt string every engine feeds the model: the processor's chat template with the
    generation prompt appended (image placeholders become the model's vision tokens)."""
    return processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
