"""A real S3 endpoint on 127.0.0.1 for tests: moto's server mode, spoken to over HTTP.

Nothing is patched inside the test process: django-storages and boto3 talk to the
server exactly as they would talk to AWS or MinIO, so signing, presigned URLs, missing
objects and an unreachable endpoint behave as in production.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3

from tests.support.processes import free_port, stop_process

VENV_BIN = Path(sys.executable).parent
# moto accepts any credentials; they only have to be present and consistent.
ACCESS_KEY = "athens-test-key"
SECRET_KEY = "athens-test-secret"
REGION = "us-east-1"


class S3Server:
    """`moto_server` in a subprocess; `bucket()` makes a fresh bucket per test."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"moto_server did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                return True
        except OSError:
            return False

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.url, region_name=REGION,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        )

    def bucket(self) -> str:
        name = f"athens-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def storage_settings(self, bucket: str, *, prefix: str = "") -> dict:
        """settings.STORAGES["modules"] for this bucket, as ATHENS_STORAGE=s3 builds it."""
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket, "endpoint_url": self.url, "region_name": REGION,
                "access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "location": prefix,
                "file_overwrite": False, "querystring_expire": 300, "addressing_style": "path",
                "signature_version": "s3v4",
            },
        }

    def environment(self, bucket: str) -> dict:
        """The variables a proxy process needs to use this bucket (ATHENS_STORAGE=s3)."""
        return {
            "ATHENS_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": bucket, "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_S3_REGION_NAME": REGION, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_S3_ADDRESSING_STYLE": "path",
        }

    def stop(self) -> None:
        stop_process(self.popen, timeout=10)
        self._log.close()
