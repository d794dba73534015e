"""Defaults that are safe before anyone configures anything (issue 21): the proxy answers
only for the host names it is told it has, and what it keeps on disk is its own."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def default_hosts(settings):
    # The test runner adds "testserver"; the defaults are what `make run` serves.
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]


def test_a_forged_host_gets_a_plain_400_not_a_page_that_names_it(default_hosts, settings):
    settings.ATHENS_UI_PUBLIC = True
    response = Client(HTTP_HOST="evil.example").get("/")
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"evil.example" not in response.content and b"ATHENS_ALLOWED_HOSTS" in response.content
    assert Client(HTTP_HOST="evil.example").get("/mods.example.test/hello/@v/list").status_code == 400
    assert Client(HTTP_HOST="127.0.0.1:3000").get("/healthz").status_code == 200


def test_the_goproxy_hint_uses_the_public_url_when_set(default_hosts, settings):
    settings.ATHENS_UI_PUBLIC = True
    page = Client(HTTP_HOST="localhost:3000").get("/").content.decode()
    assert "GOPROXY=http://localhost:3000" in page
    settings.ATHENS_PUBLIC_URL = "https://goproxy.example.com"
    page = Client(HTTP_HOST="localhost:3000").get("/").content.decode()
    assert "go env -w GOPROXY=https://goproxy.example.com<" in page


def test_a_bad_public_url_fails_start_up():
    env = {**os.environ, "ATHENS_PUBLIC_URL": "goproxy.example.com"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "ATHENS_PUBLIC_URL" in result.stderr.strip().splitlines()[-1]


def test_var_is_private_to_the_proxys_user():
    assert stat.S_IMODE(django_settings.VAR_DIR.stat().st_mode) == 0o700


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    database = tmp_path / "athens.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True, timeout=300)
    files = [path for path in tmp_path.iterdir() if path.name.startswith("athens.sqlite3")]
    assert database in files
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in files} == {path.name: 0o600 for path in files}
