"""The one job runner of ``generate``, ``render`` and ``eval-sim``: run a list of picklable jobs
in this process, in a pool of spawned worker processes, or as Ray tasks, and hand each result
back to the parent.

A job function never raises for an expected failure: it returns a dict (``usage_error`` for a
bad setting, which the caller turns into its one-line ``UsageError``; its own error records for
anything else), so a failed unit crosses a process or node boundary as data, and the units
already finished are kept. multiprocessing and Ray do the work; what is written here is only the
glue the three commands shared: worker death with the parent, early stop, and Ray start-up
errors as one line.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from typing import Any, Callable, List, Optional, Sequence

from robotr1_data.errors import UsageError


def run_jobs(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int = 1, *,
             ray: Optional[str] = None, on_result: Optional[Callable[[Any], None]] = None,
             stop: Optional[Callable[[Any], bool]] = None,
             max_tasks_per_child: Optional[int] = None,
             on_lost: Optional[Callable[[Any, BaseException], Any]] = None) -> List[Any]:
    """``fn(job)`` for every job; returns the results in the order they arrived.

    - ``ray`` given: Ray tasks (one CPU each; ``ray`` is 'auto' or a cluster address).
    - else ``workers`` > 1: a pool of ``min(workers, len(jobs))`` spawned processes that die
      with the parent (``die_with_parent``); ``max_tasks_per_child`` recycles a worker after
      that many jobs.
    - else in this process, in order (``fn`` then need not pickle: a closure with a progress
      callback or a shared simulator is fine).

    ``on_result(res)`` runs in the parent as each result arrives; ``stop(res)`` true ends the
    run there (the pool is terminated, pending Ray tasks cancelled). ``on_lost(job, exc)`` gives
    the result of a Ray task that failed after its retries (a crashed worker or lost node)."""
    results: List[Any] = []
    if not jobs:
        return results

    def take(res) -> bool:
        results.append(res)
        if on_result is not None:
            on_result(res)
        return stop is not None and bool(stop(res))

    if ray is not None:
        _run_ray(fn, jobs, ray, take, on_lost)
    elif workers > 1:
        ctx = mp.get_context("spawn")  # a fresh interpreter per worker: no inherited GL state
        with ctx.Pool(min(workers, len(jobs)), maxtasksperchild=max_tasks_per_child,
                      initializer=die_with_parent) as pool:
            for res in pool.imap_unordered(fn, jobs):
                if take(res):
                    break  # leaving the with-block terminates the pool
    else:
        for job in jobs:
            if take(fn(job)):
                break
    return results


def die_with_parent() -> None:
    """Pool initializer: a worker must not outlive a killed parent (it would keep writing a
    shard while the rerun writes the same one). A daemon thread waits on the pipe that
    multiprocessing keeps open from the parent to each spawned child (``parent_process()``'s
    sentinel: it reads end-of-file once the parent process is gone, however it died) and ends
    the worker at once.

    Not ``prctl(PR_SET_PDEATHSIG)``: Linux sends that signal when the *thread* that started the
    worker exits, and a pool starts its replacement workers (``max_tasks_per_child``) from its
    worker-handler thread, which ``Pool.terminate`` ends first. The SIGKILL then could hit a
    worker that had just sent its last result and still held the result queue's lock, and
    ``terminate`` waited on that lock for ever (3 hangs in 16 runs of 12 jobs, 2 workers,
    recycled every 2 jobs; 0 in 16 with this watch)."""
    parent = mp.parent_process()
    if parent is None:  # not started by multiprocessing: no parent pipe to watch
        return
    threading.Thread(target=_exit_with, args=(parent,), name="die-with-parent",
                     daemon=True).start()


def _exit_with(parent) -> None:
    parent.join()  # returns when the parent's end of the pipe closes: the parent has ended
    os._exit(1)


def _run_ray(fn, jobs, address: str, take, on_lost) -> None:
    """The jobs as Ray tasks (one CPU each). Uses the Ray instance already initialised in this
    process if any (and leaves it running); else ``ray.init`` at ``address`` ('auto': the cluster
    this machine belongs to, or a new local instance), shut down at the end."""
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray installed on this machine and every node: "
                         "pip install 'ray>=2.9' (or drop --ray and use --workers N)") from None
    started = False
    if not ray.is_initialized():
        try:
            ray.init(address=None if address == "auto" else address, include_dashboard=False,
                     log_to_driver=True)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise UsageError(f"cannot connect to Ray at '{address}' ({exc}); start a cluster with "
                             "`ray start --head` or pass --ray auto for a local one") from None
        started = True
    # Jobs are idempotent (atomic writes), so Ray may retry one whose node died.
    remote = ray.remote(num_cpus=1, max_retries=2)(fn)
    pending = {remote.remote(job): job for job in jobs}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                try:
                    res = ray.get(ref)
                except Exception as exc:  # a worker crash or lost node after the retries
                    if on_lost is None:
                        raise
                    res = on_lost(job, exc)
                if take(res):
                    for ref2 in pending:
                        ray.cancel(ref2)
                    pending.clear()
                    break
    finally:
        if started:
            ray.shutdown()
