# One image for the web servers and the Celery workers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN ATHENS_STORAGE_DIR=/tmp/unused python manage.py collectstatic --noinput --verbosity 0

EXPOSE 3000
CMD ["gunicorn", "athens_site.wsgi", "--bind", "0.0.0.0:3000", "--workers", "4", \
     "--worker-class", "gthread", "--threads", "8", "--timeout", "120", "--access-logfile", "-"]
