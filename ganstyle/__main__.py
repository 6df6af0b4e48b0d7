"""`python -m ganstyle ...` (also what `accelerate launch -m ganstyle train ...` runs)."""

from .cli import main

main()
