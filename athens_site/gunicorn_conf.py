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
METRICS_DIR = configure(Path(__file__).resolve().parent.parent / "var" / "metrics")


def on_starting(server):
    """Start the counters from zero: drop the files of the previous run's processes."""
    for file in remove_files_of_dead_processes(METRICS_DIR):
        server.log.debug("removed stale metrics file %s", file)


def child_exit(server, worker):
    """A worker is gone: prometheus_client drops its live gauges (its counters stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
