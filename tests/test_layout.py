"""The package's layering, read from its imports (ast): nothing imports upward.

Each module belongs to a unit (its subpackage under `ganstyle/`, or the top-level module)
with a rank. A unit may import itself and units of a lower rank, nothing else, so
`nets` never reaches into `training`, and `inference` and `training` stay independent.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ganstyle"

RANKS = {
    "version": 0,       # the version string
    "imageio": 0,       # opening, converting and writing images
    "files": 0,         # atomic writes, JSON, CheckpointError
    "data": 1,          # style folders, the validation split, the image bank
    "nets": 2,          # networks and the config + safetensors format of one network
    "storage": 3,       # the model folder, the Hub, model cards
    "training": 4,      # settings, losses, tasks, checkpoints, the loop
    "inference": 4,     # the pipeline facade and inversion
    "evaluation": 5,    # metrics, baselines, the evaluation run (it drives the pipeline)
    "cli": 6,           # the command line
    "__init__": 7,      # the public API
    "__main__": 7,
}


def unit_of(module: str) -> str:
    """'ganstyle.nets.generator' -> 'nets'; 'ganstyle' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported_modules(source: str, module: str, is_package: bool) -> list:
    """(line, absolute module name) of every ganstyle import in `source`, nested ones included."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "ganstyle"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "ganstyle":
                continue
            if node.module is None or target == "ganstyle":  # `from . import x`: x may be a module
                found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


def upward_imports(source: str, module: str, is_package: bool = False) -> list:
    """Imports of `module` that break the layering, as readable lines."""
    here = unit_of(module)
    problems = []
    for line, target in imported_modules(source, module, is_package):
        there = unit_of(target)
        if there not in RANKS:
            there = "__init__"  # `from ganstyle import name`: a name taken from the package root
        if there != here and RANKS[there] >= RANKS[here]:
            problems.append(f"{module}:{line} imports {target} ({there}, rank {RANKS[there]} >= {here}, "
                            f"rank {RANKS[here]})")
    return problems


def package_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        is_package = path.name == "__init__.py"
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield path, ".".join(parts[:-1] if is_package else parts), is_package


def test_every_unit_has_a_rank():
    units = {unit_of(name) for _, name, _ in package_modules()}
    assert units - set(RANKS) == set(), "give the new module or subpackage a rank in RANKS"


def test_nothing_imports_upward():
    problems = []
    for path, name, is_package in package_modules():
        problems += upward_imports(path.read_text(encoding="utf-8"), name, is_package)
    assert problems == []


@pytest.mark.parametrize("module, source, bad", [
    ("ganstyle.nets.projected", "from ..training.perceptual import Lite0Trunk", True),
    ("ganstyle.nets.projected", "from .backbones import Lite0Trunk", False),
    ("ganstyle.training.loop", "from ..inference import pipeline", True),       # sideways
    ("ganstyle.training.loop", "from ..storage.model_folder import save_export", False),
    ("ganstyle.inference.pipeline", "def f():\n    from ganstyle.cli import main", True),  # nested
    ("ganstyle.evaluation.evaluate", "from .. import __version__", True),      # the package root
    ("ganstyle.cli", "from .evaluation.evaluate import evaluate", False),
    ("ganstyle.data", "import ganstyle.nets.generator", True),
])
def test_the_check_catches_upward_imports(module, source, bad):
    assert bool(upward_imports(source, module)) is bad
