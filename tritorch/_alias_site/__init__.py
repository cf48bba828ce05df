"""The folder `python -m tritorch` puts first on its children's PYTHONPATH (see sitecustomize.py)."""
