"""A bad configuration stops start-up with a message that says what to change."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "variable, value",
    [
        ("ATHENS_UPSTREAM", "ftp://proxy.example.test"),
        ("ATHENS_UPSTREAM", "file:///srv/goproxy"),
        ("ATHENS_NETWORK_MODE", "sometimes"),
        ("ATHENS_DOWNLOAD_MODE", "eventually"),
        ("ATHENS_STORAGE", "floppy"),
        ("ATHENS_ZIP_SERVING", "carrier-pigeon"),
        ("ATHENS_ZIP_SERVING", "redirect"),  # presigned URLs need object storage
        ("ATHENS_ACCEL_PREFIX", "internal"),
        ("ATHENS_TRUSTED_PROXIES", "nginx"),  # addresses or networks, not names
    ],
)
def test_bad_setting_fails_at_start_up_naming_the_variable(variable, value):
    env = {**os.environ, variable: value}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and variable in last_line and value in last_line


def test_the_old_trusted_proxy_count_fails_start_up_naming_its_replacement():
    # A count trusted the header of any client that connected directly.
    env = {**os.environ, "ATHENS_TRUSTED_PROXY_COUNT": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "ATHENS_TRUSTED_PROXIES" in result.stderr.strip().splitlines()[-1]
