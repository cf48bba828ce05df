"""python -m tritorch SCRIPT [ARGS...]: run an unchanged PyTorch script on tritorch (see tritorch/_torch_alias.py)."""
import sys

from tritorch._torch_alias import main

sys.exit(main())
