"""The one job runner (robotr1_data/jobs.py): in-process jobs run in order and may be closures,
pooled jobs run in worker processes and all come back, ``stop`` ends a run early, and the
pool's workers are not the parent."""

import os

from robotr1_data.jobs import run_jobs


def test_in_process_runs_in_order_and_stops():
    seen = []
    out = run_jobs(lambda x: x * 10, [1, 2, 3, 4], on_result=seen.append, stop=lambda r: r == 20)
    assert out == [10, 20] and seen == [10, 20]
    assert run_jobs(lambda x: x, []) == []


def test_pool_returns_every_result_from_worker_processes():
    seen = []
    # A spawned worker imports the job function by name, so it must live in an installed module,
    # not in this test file: builtins do.
    # No max_tasks_per_child here: recycling a worker that has die_with_parent's prctl can hang
    # the pool (seen on Python 3.11; reported, not yet fixed).
    out = run_jobs(abs, [-1, -2, -3, -4, -5], workers=2, on_result=seen.append)
    assert sorted(out) == [1, 2, 3, 4, 5]
    assert seen == out  # on_result saw each result as it arrived
    pids = run_jobs(eval, ["__import__('os').getpid()"] * 2, workers=2)
    assert os.getpid() not in pids


def test_pool_stop_ends_the_run_early():
    out = run_jobs(abs, list(range(40)), workers=2, stop=lambda r: True)
    assert len(out) == 1
