"""tritorch.bench: timers, op and model suites, run/compare/report CLI for perf regression reports.

    from tritorch.bench import Timer
    m = Timer("cpu", budget=0.2).measure(lambda: x + y)      # m.time.median, m.time.iqr (seconds per call)

    python -m tritorch.bench run --suite ops --device cpu --filter "add,exp" --out results.json
    python -m tritorch.bench compare base.json results.json --threshold 5%
    python -m tritorch.bench report results.json --format html

Nothing here imports torch unless a run asks for PyTorch peers (tritorch itself never does).
"""
from .stats import Stats, summarize
from .timer import CudaEvents, Measurement, Timer, cpu_threads

__all__ = ["Stats", "summarize", "Timer", "Measurement", "CudaEvents", "cpu_threads"]
