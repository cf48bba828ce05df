"""DataLoader worker processes (num_workers > 0), as PyTorch runs them.

Each worker is a process holding its own copy of the dataset (inherited by fork, or pickled for spawn). The main
process sends it tasks on its own index queue, (task number, the batch's indices), round robin over the
workers, keeping prefetch_factor tasks per worker in flight; workers put (task number, batch) on one shared
result queue, and the main process hands batches out in task order (in_order=False: as they arrive). Tensors
cross the queues through tritorch/multiprocessing/reductions.py: those in shared memory (default_collate's
stacked batches, in a worker) as a file descriptor the receiver maps, others by copy.

In a worker: get_worker_info() describes it; tritorch's generator and Python's `random` are seeded with
base_seed + worker id and NumPy's global generator from (base_seed, worker id); the cpu fallbacks use one thread
(as PyTorch's workers call torch.set_num_threads(1)); worker_init_fn(worker id) runs once. An exception in a
worker is re-raised in the main process, with the worker's traceback, when its batch is due. An iterable
dataset is iterated by every worker (each its own copy: shard it with get_worker_info()); a worker whose stream
ends gets no more tasks, and the pass ends when every worker's has.
"""
from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.queues
import queue
import random
import sys
import time
import traceback

import numpy as np

# How often a wait for results checks that the workers are alive, and a worker waiting for a task checks the done
# event and that the main process is alive (seconds)
_POLL = 2.0
_WORKER_POLL = 0.25


class _StreamEnd:
    """A worker's answer to a task once its iterable dataset's stream has ended."""

    def __init__(self, worker_id: int):
        self.worker_id = worker_id


class _ResumeIteration:
    """A persistent worker's signal to start its iterable dataset's stream again (a new epoch)."""


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its formatted traceback."""

    def __init__(self, exc_info, where: str):
        self.exc_type = exc_info[0]
        self.msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.msg}"
        if self.exc_type is KeyError:   # KeyError would print its message as a quoted repr
            msg = KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:   # an exception class that does not take one message
            raise RuntimeError(msg) from None
        raise exc


class KeyErrorMessage(str):
    def __repr__(self):
        return self


class _ResultQueue(multiprocessing.queues.Queue):
    """The workers' result queue. A Queue pickles what is put on it in a feeder thread and drops what fails to
    pickle (printing the error in the worker), so the main process would wait for that batch forever; this one
    sends the pickling error in the batch's place, to be raised in the main process when the batch is due."""

    def __init__(self, ctx):
        super().__init__(ctx=ctx)

    def _on_queue_feeder_error(self, e, obj):
        if isinstance(obj, tuple) and len(obj) == 2 and not isinstance(obj[1], ExceptionWrapper):
            self.put((obj[0], ExceptionWrapper(sys.exc_info(), "in DataLoader worker process while sending a "
                                                             "batch to the main process (it could not be pickled)")))
        else:
            super()._on_queue_feeder_error(e, obj)


def numpy_seed(base_seed: int, worker_id: int) -> list:
    """The state NumPy's global generator is seeded with in a worker: a SeedSequence of (worker id, base seed)."""
    return np.random.SeedSequence([worker_id, base_seed]).generate_state(4).tolist()


def worker_loop(dataset, index_queue, result_queue, done, auto_collation, collate_fn, batch_size, drop_last,
                base_seed: int, init_fn, worker_id: int, num_workers: int) -> None:
    """The body of worker `worker_id`: answer tasks from index_queue until it sends None, or until the `done`
    event is set (the main process stopped reading: tasks already queued are dropped) or the main process is gone
    (a None sent while the main process tears its queues down may never arrive)."""
    import os
    parent = os.getppid()
    from ... import _settings
    from ...ops import random as _random
    from . import dataloader
    from ._fetch import fetcher_for
    try:
        seed = base_seed + worker_id
        random.seed(seed)
        _random.manual_seed(seed)
        np.random.seed(numpy_seed(base_seed, worker_id))
        _settings.set_num_threads(1)
        dataloader._worker_info = dataloader.WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                                        dataset=dataset)
        where = f"in DataLoader worker process {worker_id}"
        init_error = fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = fetcher_for(dataset, auto_collation, collate_fn, batch_size, drop_last)
        except Exception:   # reported with the first task, as PyTorch does
            init_error = ExceptionWrapper(sys.exc_info(), where)
        ended = False
        while True:
            try:
                task = index_queue.get(timeout=_WORKER_POLL)
            except queue.Empty:
                if done.is_set() or os.getppid() != parent:
                    break
                continue
            if task is None or done.is_set():
                break
            if isinstance(task, _ResumeIteration):
                if init_error is None:
                    fetcher = fetcher_for(dataset, auto_collation, collate_fn, batch_size, drop_last)
                ended = False
                continue
            number, indices = task
            if init_error is not None:
                data, init_error = init_error, None
            elif ended:
                data = _StreamEnd(worker_id)
            else:
                try:
                    data = fetcher.fetch(indices)
                except StopIteration:
                    ended = True
                    data = _StreamEnd(worker_id)
                except Exception:
                    data = ExceptionWrapper(sys.exc_info(), where)
            result_queue.put((number, data))
            del data
    except KeyboardInterrupt:
        pass
    result_queue.cancel_join_thread()   # exit without waiting for a main process that stopped reading


def _context(spec):
    if spec is None:
        return multiprocessing
    if isinstance(spec, str):
        return multiprocessing.get_context(spec)
    return spec


class _BaseDataLoaderIter:
    """The common base of a DataLoader's iterators (PyTorch's name: libraries test isinstance against it)."""

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._loader)


class MultiProcessIter(_BaseDataLoaderIter):
    """One pass (or, with persistent_workers, every pass) of a DataLoader over its worker processes."""

    def __init__(self, loader, base_seed: int):
        from ...multiprocessing.reductions import init_reductions
        from .dataset import IterableDataset
        init_reductions()   # tensors cross the queues by descriptor or by copy
        self._loader = loader
        self._iterable = isinstance(loader.dataset, IterableDataset)
        self._n = loader.num_workers
        self._prefetch = loader.prefetch_factor if loader.prefetch_factor is not None else 2
        self._timeout = loader.timeout
        ctx = _context(loader.multiprocessing_context)
        self._results = _ResultQueue(ctx)
        self._done = ctx.Event()
        self._index_queues, self._workers = [], []
        self._closed = False
        for i in range(self._n):
            q = ctx.Queue()
            q.cancel_join_thread()
            w = ctx.Process(target=worker_loop, daemon=True,
                            args=(loader.dataset, q, self._results, self._done, loader._auto_collation,
                                  loader.collate_fn,
                                  loader.batch_size, loader.drop_last, base_seed, loader.worker_init_fn, i,
                                  self._n))
            w.start()
            self._index_queues.append(q)
            self._workers.append(w)
        self._started = False
        self._reset()

    def _reset(self) -> None:
        """Start a pass: a fresh sampler iterator, every worker active, the first tasks sent."""
        if self._started and self._iterable:
            for q in self._index_queues:
                q.put(_ResumeIteration())
        self._started = True
        self._sampler_iter = iter(self._loader._index_sampler)
        self._sent = self._received = 0
        self._tasks = {}   # task number -> worker id (pending) or (worker id, batch) (arrived early)
        self._active = [True] * self._n
        self._next_worker = itertools.cycle(range(self._n))
        self._sampler_done = False
        for _ in range(self._prefetch * self._n):
            self._send_task()

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def _send_task(self) -> None:
        if self._sampler_done or not any(self._active):
            return
        try:
            indices = next(self._sampler_iter)
        except StopIteration:
            self._sampler_done = True
            return
        worker = next(w for w in self._next_worker if self._active[w])
        self._index_queues[worker].put((self._sent, indices))
        self._tasks[self._sent] = worker
        self._sent += 1

    def __next__(self):
        if not self._loader.in_order:
            return self._next_as_it_comes()
        while True:
            while self._received < self._sent:   # skip tasks a finished stream will not answer
                info = self._tasks.get(self._received)
                if info is None or (info.__class__ is int and not self._active[info]):
                    self._tasks.pop(self._received, None)
                    self._received += 1
                    continue
                break
            else:
                if not self._loader.persistent_workers:
                    self.shutdown()
                raise StopIteration
            info = self._tasks[self._received]
            if info.__class__ is tuple:
                del self._tasks[self._received]
                self._received += 1
                return self._deliver(info[1])
            number, data = self._get()
            if number < self._received or number not in self._tasks:
                continue   # a late answer of a task already skipped
            if isinstance(data, _StreamEnd):
                self._active[data.worker_id] = False
                del self._tasks[number]
                continue
            if number != self._received:
                self._tasks[number] = (self._tasks[number], data)
                continue
            del self._tasks[number]
            self._received += 1
            return self._deliver(data)

    def _next_as_it_comes(self):
        """in_order=False: whichever batch arrives first (a slow sample no longer holds back the others)."""
        while True:
            for number in [n for n, w in self._tasks.items() if not self._active[w]]:
                del self._tasks[number]   # a finished stream will not answer them
            if not self._tasks:
                if not self._loader.persistent_workers:
                    self.shutdown()
                raise StopIteration
            number, data = self._get()
            worker = self._tasks.pop(number, None)
            if worker is None:
                continue
            if isinstance(data, _StreamEnd):
                self._active[worker] = False
                continue
            return self._deliver(data)

    def _deliver(self, data):
        self._send_task()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def _get(self):
        start = time.monotonic()
        while True:
            wait = _POLL if self._timeout <= 0 else min(_POLL, max(0.0, start + self._timeout - time.monotonic()))
            try:
                return self._results.get(timeout=wait)
            except queue.Empty:
                if self._timeout > 0 and time.monotonic() - start >= self._timeout:
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
                dead = [str(w.pid) for w in self._workers if not w.is_alive()]
                if dead:
                    self.shutdown()
                    raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(dead)}) exited unexpectedly") from None

    def shutdown(self) -> None:
        """Stop the workers (once): the done event and a None task each, so a worker stops after the task it is on;
        a short wait, then terminate any still running."""
        if self._closed:
            return
        self._closed = True
        self._done.set()
        for q in self._index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 5.0
        for w in self._workers:
            w.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                w.terminate()
                w.join()
        for q in self._index_queues + [self._results]:
            q.cancel_join_thread()
            q.close()

    _shutdown_workers = shutdown   # (PyTorch's name)

    def __del__(self):
        if hasattr(self, "_closed"):   # (not when __init__ failed before starting anything)
            self.shutdown()
