"""Where the processes of one installation keep their Prometheus samples.

prometheus_client's multiprocess mode has every process (gunicorn workers, Celery
workers on the same machine) write its counters to files in PROMETHEUS_MULTIPROC_DIR,
and /metrics adds the files up. The library reads that variable when it is first
imported, so it must be in the environment before anything imports it: settings.py and
the gunicorn master (athens_site/gunicorn_conf.py) both call `configure` first thing.
This module imports nothing but the standard library for that reason.
"""

import os
from pathlib import Path


def configure(default: Path) -> Path:
    """Set PROMETHEUS_MULTIPROC_DIR (ATHENS_METRICS_DIR, else an existing
    PROMETHEUS_MULTIPROC_DIR, else `default`), create the directory and return it."""
    chosen = os.environ.get("ATHENS_METRICS_DIR") or os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(default)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = chosen
    path = Path(chosen)
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_files_of_dead_processes(path: Path) -> list[Path]:
    """Delete the sample files (`<kind>_<pid>.db`) whose process is no longer running.

    At server start that is every file of the previous run, so counters start again
    from zero; the files of processes still running (a Celery worker on the same
    machine, another test's server) are kept, since deleting a file a live process has
    mapped would make its samples invisible until it restarts.
    """
    removed = []
    for file in path.glob("*.db"):
        pid = file.stem.rpartition("_")[2]
        if pid.isdigit() and _running(int(pid)):
            continue
        file.unlink(missing_ok=True)
        removed.append(file)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
