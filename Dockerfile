# syntax=docker/dockerfile:1
#
# concernbot in a container: a small, non-root image with only the installed virtualenv in it.
#
#   docker build -t concernbot .
#   docker run -d --name concernbot --env-file .env -v concernbot-data:/data -p 127.0.0.1:3000:3000 concernbot
#
# With SQLite (the default, DATABASE_URL=sqlite:////data/concernbot.db) the records live in /data: always
# mount a volume there, or they go when the container is removed. For PostgreSQL see compose.yml.
# One-off commands use the same image:  docker run --rm --env-file .env -v concernbot-data:/data \
#   -v "$PWD/school.yml:/data/school.yml:ro" concernbot setup school.yml

ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: install the package and its dependencies into a virtualenv --------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The venv's path must be the same in both stages: its scripts' #! lines name it.
RUN python -m venv /opt/venv
WORKDIR /src
# Only what the package is built from (pyproject names README.md as its readme); .dockerignore keeps the rest out.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY flows ./flows
COPY storage ./storage
# Every dependency ships a manylinux wheel (psycopg[binary] brings its own libpq), so nothing is compiled.
RUN /opt/venv/bin/pip install . \
 && /opt/venv/bin/concernbot --help >/dev/null

# ---- runtime: python:3.11-slim plus the venv; no compilers, no build tree, no curl ----------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG VERSION=0.1.0
ARG UID=10001
LABEL org.opencontainers.image.title="concernbot" \
      org.opencontainers.image.description="A Slack bot for UK schools to record and act on online-safety and safeguarding concerns." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DATABASE_URL=sqlite:////data/concernbot.db

# A dedicated unprivileged user with a fixed uid/gid, so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid ${UID} concernbot \
 && useradd --system --uid ${UID} --gid ${UID} --home-dir /data --no-create-home \
            --shell /usr/sbin/nologin concernbot \
 && install -d -m 0700 -o ${UID} -g ${UID} /data

COPY --from=builder /opt/venv /opt/venv

WORKDIR /data
USER 10001:10001

# HTTP mode: Slack's requests at /slack/events, the health check at /healthz. In Socket Mode (SLACK_APP_TOKEN
# set) Slack needs no port, and the bot still serves /healthz and /metrics here for the health check.
EXPOSE 3000

# Python's standard library only (no curl in the image). /healthz answers 200 {"status": "ok", ...} when
# the database answers, 503 otherwise; a refused connection, a timeout or a 503 exits 1. It ignores any
# HTTP(S)_PROXY in the environment, which would otherwise send a request for 127.0.0.1 to the proxy.
# It assumes the CMD's --port 3000: a different port needs a HEALTHCHECK of its own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import json, sys, urllib.request as u; r = u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:3000/healthz', timeout=4); sys.exit(0 if r.status == 200 and json.load(r).get('status') == 'ok' else 1)"]

# concernbot stops cleanly on SIGTERM (it is PID 1 here: the exec form below, no shell in between).
STOPSIGNAL SIGTERM
ENTRYPOINT ["concernbot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]
