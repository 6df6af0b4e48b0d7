"""The training tasks by component: what `--components generator|translator|both|painter|encoder` trains.

A new family's training step is a `Task` subclass in its own module, registered here.
"""

from .encoder_task import InversionEncoderTask
from .generator_task import GeneratorTask
from .painter_task import PainterTask
from .translator_task import TranslatorTask

TASKS = {"generator": GeneratorTask, "translator": TranslatorTask, "painter": PainterTask,
         "encoder": InversionEncoderTask}


def min_styles(components: str) -> int:
    """Fewest styles the data must have to train `components` (a translator needs two)."""
    return 2 if components in ("translator", "both", "painter") else 1

