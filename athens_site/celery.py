"""The Celery application, configured from Django settings (the CELERY_* names).

Without CELERY_BROKER_URL, settings make every task run eagerly in the calling process,
so a laptop needs no broker. With one, `celery -A athens_site worker` runs the fetches.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "athens_site.settings")

app = Celery("athens_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
