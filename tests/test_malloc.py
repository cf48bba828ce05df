"""tritorch._malloc: glibc keeps the fallback's freed arrays for reuse, so a training loop stops faulting pages in."""
import os
import platform
import subprocess
import sys

import pytest

# Forty 1 MiB arrays made (each touched) and freed, three times after two warm-up rounds. With glibc's defaults the
# freed heap top goes back to the system each round and every page faults in again (~30K faults here); with
# tritorch's settings the pages stay (0).
_SCRIPT = """
import resource
import numpy as np
import tritorch
from tritorch import _malloc
def step():
    arrays = [np.ones(1 << 18, np.float32) for _ in range(40)]
    del arrays
step(); step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    step()
print(_malloc.tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the settings are glibc's mallopt parameters")


def _run(**env_changes):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    env.pop("TRITORCH_MALLOC_TUNING", None)
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True)
    tuned, faults = out.stdout.split()
    return tuned == "True", int(faults)


@glibc
def test_freed_arrays_are_reused_without_page_faults():
    tuned, faults = _run()
    assert tuned
    pages = 3 * 40 * (1 << 20) // 4096
    assert faults < pages // 20


@glibc
def test_opt_out_and_the_programs_own_settings_leave_glibc_alone():
    pages = 3 * 40 * (1 << 20) // 4096
    for env in ({"TRITORCH_MALLOC_TUNING": "0"}, {"MALLOC_TOP_PAD_": "0"}):
        tuned, faults = _run(**env)
        assert not tuned
        assert faults > pages // 2   # glibc's defaults: the freed pages went back and fault in again
