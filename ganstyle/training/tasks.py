"""The training tasks by component: what `--model generator|translator|both` trains.

A new family's training step is a `Task` subclass in its own module, registered here.
"""

from .generator_task import GeneratorTask
from .translator_task import TranslatorTask

TASKS = {"generator": GeneratorTask, "translator": TranslatorTask}


def min_styles(model: str) -> int:
    return 2 if model in ("translator", "both") else 1

