# The low_assets code location: a Dagster code server (gRPC) on port 4000. The webserver and the
# daemon run elsewhere and reach it over the network; deploy/README.md shows the whole layout.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/low_assets

# Runtime dependencies in their own layer, rebuilt only when the lock changes. The test and
# lint tools live in requirements-dev.lock and stay out of the image.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml setup.cfg README.md ./
COPY low_assets ./low_assets
RUN pip install --no-deps . && rm -rf build low_assets.egg-info

RUN useradd --create-home --uid 10001 dagster \
    && mkdir -p /var/lib/low_assets \
    && chown dagster /var/lib/low_assets
USER dagster

# The local profile, if LOW_ASSETS_PROFILE is left unset, writes here; the gcp profile does not.
ENV LOW_ASSETS_DATA_DIR=/var/lib/low_assets

EXPOSE 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "low_assets.definitions"]
