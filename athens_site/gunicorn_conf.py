"""gunicorn hooks for /metrics: `gunicorn -c python:athens_site.gunicorn_conf athens_site.wsgi`.

The workers are separate processes, each writing its Prometheus samples to files in
one directory (athens_site/metrics_dir.py). The master sets that directory up before it
forks them, clears what a previous run left there, and tells prometheus_client when a
worker dies. Binding, workers and threads stay on the command line (Makefile `run`,
Dockerfile CMD).
"""

from pathlib import Path

from athens_site.metrics_dir import configure, remove_files_of_dead_processes

# Here, in the master, before any worker is forked or imports prometheus_client: the
# workers inherit PROMETHEUS_MULTIPROC_DIR (settings.py would choose the same directory).
VAR_DIR = Path(__file__).resolve().parent.parent / "var"  # as settings.VAR_DIR (0700)
METRICS_DIR = configure(VAR_DIR / "metrics")


def on_starting(server):
    """Start the counters from zero: drop the files of the previous run's processes;
    and give this instance its own control socket."""
    for file in remove_files_of_dead_processes(METRICS_DIR):
        server.log.debug("removed stale metrics file %s", file)
    on_starting_control_socket(server)


def child_exit(server, worker):
    """A worker is gone: prometheus_client drops its live gauges (its counters stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_starting_control_socket(server):
    """Each instance its own control socket, in var/ (0700) and named for its address.

    gunicorn's default is one path per user (~/.gunicorn/gunicorn.ctl): a second instance
    on the machine (a second proxy, a test run, a blue/green switch) would take over the
    first one's socket, and `gunicornc` would then reload or stop the wrong server.
    """
    bound = "_".join(server.cfg.bind) or "default"
    name = "".join(char if char.isalnum() or char in ".-" else "-" for char in bound)
    VAR_DIR.mkdir(mode=0o700, exist_ok=True)
    server.cfg.set("control_socket", str(VAR_DIR / f"gunicorn-{name}.ctl"))
