"""Ctrl-C during the exact planner's CP-SAT search stops the search and raises KeyboardInterrupt.

CP-SAT catches SIGINT by default and returns its best plan so far as if its time limit had been
reached; ``splitinfer compare`` would then print that plan and exit 0. The planner must let the
interrupt through instead (see :func:`splitinfer.planners.exact.model._solve_interruptibly`).
The test runs in a subprocess so that the SIGINT reaches only that process's main thread.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, signal, threading
    # as in a terminal: a pytest-xdist worker runs with SIGINT ignored, which its children
    # inherit, and Python then installs no KeyboardInterrupt handler
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import splitinfer.planners.exact.model as model
    from splitinfer.planners import get_planner
    from splitinfer.system import load_scenario

    sc = load_scenario("shi2021")
    sc = sc.with_tasks(sc.tasks[:30])
    started = threading.Event()
    real = model._solve_interruptibly

    def spy(solver, cp):
        started.set()
        return real(solver, cp)

    model._solve_interruptibly = spy

    def interrupt():
        started.wait()
        threading.Event().wait(0.5)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    try:
        plan = get_planner("exact", time_limit_s=120, max_tasks=100).plan(sc)
    except KeyboardInterrupt:
        print("interrupted", [t.name for t in threading.enumerate()])
    else:
        print("returned", plan.info["status"])
""")


def test_ctrl_c_stops_the_exact_search():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "interrupted ['MainThread']", out.stdout
