"""The built-in tasks, one file per task named after it; the registry finds every ``Task``
subclass here (docs/tasks.md). The framework they use lives one level up."""
