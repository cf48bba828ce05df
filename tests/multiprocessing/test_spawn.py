"""tritorch.multiprocessing: Python's multiprocessing names, torch's sharing-strategy functions, and spawn /
start_processes running fn(i, *args) in child processes and raising a child's failure in the parent, as PyTorch."""
import inspect
import multiprocessing
import os
import sys

import pytest

import tritorch as tt
import tritorch.multiprocessing as mp


def _write_rank(i, folder, text):
    """Runs in a child process: it imports tritorch and leaves a file saying which index it was given."""
    import tritorch
    with open(os.path.join(folder, f"{i}.txt"), "w") as fh:
        fh.write(f"{text} {i} {float(tritorch.ones(2).sum())}")


def _fail_on_one(i):
    if i == 1:
        raise ValueError("child one failed")


def _exit_three(i):
    sys.exit(3)


def test_python_multiprocessing_names_and_sharing_strategies():
    assert tt.multiprocessing is mp
    assert mp.Process is multiprocessing.Process and mp.Queue is multiprocessing.Queue
    assert mp.cpu_count() == multiprocessing.cpu_count() and "set_start_method" in mp.__all__
    assert mp.get_sharing_strategy() in mp.get_all_sharing_strategies()
    before = mp.get_sharing_strategy()
    try:
        mp.set_sharing_strategy("file_system")
        assert mp.get_sharing_strategy() == "file_system"
    finally:
        mp.set_sharing_strategy(before)
    with pytest.raises(AssertionError, match="invalid sharing strategy 'x', expected one of"):
        mp.set_sharing_strategy("x")


def test_spawn_runs_fn_with_its_index_in_each_process(tmp_path):
    # spawn always spawns; naming another start method only warns, as in PyTorch
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        assert mp.spawn(_write_rank, args=(str(tmp_path), "rank"), nprocs=2, start_method="fork") is None
    assert sorted(os.listdir(tmp_path)) == ["0.txt", "1.txt"]
    assert (tmp_path / "1.txt").read_text() == "rank 1 2.0"


def test_a_child_exception_is_raised_in_the_parent():
    with pytest.raises(mp.ProcessRaisedException, match="-- Process 1 terminated with the following error:") as info:
        mp.start_processes(_fail_on_one, nprocs=2, start_method="fork")
    assert "ValueError: child one failed" in str(info.value) and info.value.error_index == 1


def test_an_exit_code_and_join_false():
    context = mp.start_processes(_exit_three, nprocs=1, join=False, start_method="fork")
    assert len(context.pids()) == 1
    with pytest.raises(mp.ProcessExitedException, match="process 0 terminated with exit code 3") as info:
        while not context.join():
            pass
    assert info.value.exit_code == 3


def test_signatures_match_torch():
    torch = pytest.importorskip("torch")
    for name in ("spawn", "start_processes", "set_sharing_strategy", "get_sharing_strategy",
                 "get_all_sharing_strategies", "ProcessContext", "ProcessRaisedException", "ProcessExitedException"):
        ours = inspect.signature(getattr(mp, name))
        theirs = inspect.signature(getattr(torch.multiprocessing, name))
        assert list(ours.parameters) == list(theirs.parameters), name
    assert mp.get_all_sharing_strategies() == torch.multiprocessing.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == "file_descriptor" or sys.platform == "darwin"
