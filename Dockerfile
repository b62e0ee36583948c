# syntax=docker/dockerfile:1
# The production image: gunicorn serving the shop, static files by whitenoise.
# `docker compose up` adds PostgreSQL and the local Stripe server (compose.yaml).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=bookstore.settings.production

WORKDIR /app
RUN useradd --create-home --uid 10001 bookstore

# Dependencies first, so code changes reuse this layer. REQUIREMENTS=requirements-dev.txt builds
# the image compose uses for the local Stripe server.
ARG REQUIREMENTS=requirements.txt
COPY requirements.txt requirements-dev.txt ./
RUN pip install -r "${REQUIREMENTS}"

COPY --chown=bookstore:bookstore . .
# collectstatic reads settings, which insist on a key and hosts: build-time stand-ins only.
RUN SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput

USER bookstore
EXPOSE 8000
CMD ["gunicorn", "bookstore.wsgi", "--config", "gunicorn.conf.py"]
