import os

# The cuda device runs through Triton's interpreter when no GPU is present; it must be set before triton loads.
os.environ.setdefault("TRITON_INTERPRET", "1")
