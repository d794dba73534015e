"""Liveness and readiness probes."""

import pytest


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok\n")


@pytest.mark.django_db
def test_readyz_checks_database_and_storage(client):
    response = client.get("/readyz")
    assert (response.status_code, response.content) == (200, b"ready\n")


@pytest.mark.django_db
def test_readyz_fails_when_storage_is_unreachable(client, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "modules": {"BACKEND": "storages.backends.s3.S3Storage",
                    "OPTIONS": {"bucket_name": "athens", "endpoint_url": "http://127.0.0.1:9",
                                "access_key": "x", "secret_key": "y"}},
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert b"storage unreachable" in response.content
