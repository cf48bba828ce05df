"""python -m tritorch.bench {run, compare, report} (see tritorch/bench/cli.py)."""
import sys

from .cli import main

sys.exit(main())
