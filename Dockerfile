# The IPPC Partnerships API. Build: docker build -t ippc-partnerships .
# Run: docker run -p 8000:8000 -e DATABASE_URL=postgresql://... ippc-partnerships
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

WORKDIR /srv/ippc

# Dependencies first, pinned and hash-checked, so that code changes reuse this layer.
COPY requirements/runtime.txt requirements/runtime.txt
RUN python -m venv /opt/venv \
    && pip install --require-hashes -r requirements/runtime.txt

# The project, installed in place: the migrations beside the package are found from it.
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY openapi ./openapi
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --home-dir /srv/ippc --shell /usr/sbin/nologin ippc \
    && mkdir -p /srv/ippc/var \
    && chown ippc:ippc /srv/ippc/var

USER ippc

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# Migrates (serialized by a database lock when several containers start at once), then serves.
CMD ["ippc", "serve", "--host", "0.0.0.0", "--port", "8000"]
