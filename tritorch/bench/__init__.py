"""tritorch.bench: timers, op and model suites, run/compare/report CLI for perf regression reports."""
