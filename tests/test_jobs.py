"""The one job runner (robotr1_data/jobs.py): in-process jobs run in order and may be closures,
pooled jobs run in worker processes and all come back, ``stop`` ends a run early, the pool's
workers are not the parent, recycled workers do not hang the pool, and a worker dies with its
parent process but not with the thread that started it."""

import multiprocessing as mp
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

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
    out = run_jobs(abs, [-1, -2, -3, -4, -5], workers=2, on_result=seen.append)
    assert sorted(out) == [1, 2, 3, 4, 5]
    assert seen == out  # on_result saw each result as it arrived
    pids = run_jobs(eval, ["__import__('os').getpid()"] * 2, workers=2)
    assert os.getpid() not in pids


def test_pool_stop_ends_the_run_early():
    out = run_jobs(abs, list(range(40)), workers=2, stop=lambda r: True)
    assert len(out) == 1


RECYCLE = """
from robotr1_data.jobs import run_jobs
for _ in range(3):
    pids = run_jobs(eval, ["__import__('os').getpid()"] * 12, workers=2, max_tasks_per_child=2)
    assert len(pids) == 12 and len(set(pids)) >= 6, pids  # a new worker every two jobs
    out = run_jobs(abs, list(range(-12, 0)), workers=2, max_tasks_per_child=2,
                   stop=lambda r: r == 9)
    assert 9 in out and len(out) < 12, out
print("ok")
"""


def test_recycled_workers_finish_and_stop_without_hanging():
    """max_tasks_per_child=2 replaces workers from the pool's handler thread; ending the pool
    (at the end, or early through ``stop``) must not wait on a lock a killed worker held (with
    the old prctl(PR_SET_PDEATHSIG) this hung in ~1 run of 5). In a subprocess, so a hang
    fails the test instead of stalling the suite."""
    try:
        res = subprocess.run([sys.executable, "-c", RECYCLE], capture_output=True, text=True,
                             timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError("the pool hung while ending (recycled workers)") from None
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]


WATCHED = ("import time; import robotr1_data.jobs as j; j.die_with_parent(); ev.set(); "
           "time.sleep(1.0)")


def test_a_worker_outlives_the_thread_that_started_it():
    """The pool starts replacement workers from a thread that ends before the pool does: that
    thread's end must not kill them (Linux's PDEATHSIG follows the thread, not the process)."""
    ctx = mp.get_context("spawn")
    ev = ctx.Event()
    proc = ctx.Process(target=exec, args=(WATCHED, {"ev": ev}))

    def start():
        proc.start()
        assert ev.wait(60), "the child never ran die_with_parent"

    t = threading.Thread(target=start)
    t.start()
    t.join()  # the starting thread has ended; the child is still sleeping
    proc.join(60)
    assert proc.exitcode == 0, f"the worker was killed (exit code {proc.exitcode})"


PARENT = """
import multiprocessing as mp, os, time
from robotr1_data.jobs import die_with_parent
pool = mp.get_context("spawn").Pool(1, initializer=die_with_parent)
pid = pool.apply(os.getpid)
pool.apply_async(time.sleep, (60,))
print(pid, flush=True)
time.sleep(60)
"""


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has ended (nobody may reap it in a container)


def test_a_worker_dies_with_its_killed_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        assert _alive(worker)
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(worker), "the pool worker outlived its SIGKILLed parent"
