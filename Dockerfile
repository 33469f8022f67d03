# One image for every role of the IM product: the orchestrator chooses the command
# (daphne node, celery worker, celery beat, migrate job). See docs/operations.md.
#
#   docker build -t im:latest .
#   docker run --rm -p 8000:8000 -e DATABASE_URL=... -e REDIS_URL=... im:latest            # daphne
#   docker run --rm -e DATABASE_URL=... -e REDIS_URL=... im:latest celery -A imsite worker -l info
#
# Base pinned to an exact tag (Python 3.11 on Debian 12 "bookworm", slim variant).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- build stage: a virtualenv with the pinned requirements -------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# Every pinned dependency ships manylinux wheels (psycopg[binary] bundles libpq, redis[hiredis],
# orjson, pillow), so no compiler is needed here.
RUN /opt/venv/bin/pip install --no-compile -r /tmp/requirements.txt

# --- runtime stage -----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_DEBUG=false \
    IM_DATA_DIR=/app/data \
    DJANGO_STATIC_ROOT=/app/staticfiles
RUN groupadd --system --gid 10001 im \
 && useradd --system --uid 10001 --gid im --home-dir /app --shell /usr/sbin/nologin im \
 && install -d -o im -g im /app /app/data /app/data/media /app/staticfiles
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=im:im . /app
USER im
# Static files are collected at build time with a throwaway secret (no database is touched by
# collectstatic); the running container gets the real DJANGO_SECRET_KEY from the environment.
RUN DJANGO_SECRET_KEY=collectstatic-build-only-not-a-secret \
    python manage.py collectstatic --noinput -v 0 \
 && rm -f /app/data/secret_key
EXPOSE 8000
# Default role: one connection node. Override the command for worker / beat / migrate.
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "imsite.asgi:application"]
