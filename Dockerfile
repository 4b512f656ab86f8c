# syntax=docker/dockerfile:1
# Container image of ovh-vps-exporter: docker build -t ovh-vps-exporter .
#
# The build stage installs the package into a virtualenv; the final stage gets
# only that virtualenv, so no build backend, compiler or pip cache ships.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The virtualenv gets no pip of its own: the base image's pip installs into it.
RUN python -m venv --without-pip /opt/ovh-vps-exporter
COPY pyproject.toml README.md ./
COPY exporter ./exporter
RUN pip --python /opt/ovh-vps-exporter/bin/python install --no-cache-dir .

FROM ${PYTHON_IMAGE}
# A fixed UID and GID, so that Kubernetes runAsUser and file ownership on the
# host can name them; the exporter writes no file, hence no home directory.
# The exporter runs from its own virtualenv, so the base image's installer and
# build tools (its site-packages: pip, setuptools, wheel), ensurepip that would
# bring them back, and every command in /usr/local/bin but the interpreter go.
ARG UID=10060
RUN groupadd --system --gid "${UID}" ovh-vps-exporter \
    && useradd --system --uid "${UID}" --gid ovh-vps-exporter --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin ovh-vps-exporter \
    && rm -rf /usr/local/lib/python3*/site-packages/* /usr/local/lib/python3*/ensurepip \
    && find /usr/local/bin -mindepth 1 ! -name 'python*' -delete
COPY --from=build /opt/ovh-vps-exporter /opt/ovh-vps-exporter
ENV PATH=/opt/ovh-vps-exporter/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER ${UID}:${UID}
EXPOSE 10060
# The image has no curl: Python asks /healthz on the port the exporter listens on
# (every interface, port 10060, unless OVH_EXPORTER_WEB_LISTEN_ADDRESS says otherwise),
# over HTTP or HTTPS; a 401 from basic auth counts as alive (exporter/healthcheck.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "exporter.healthcheck", "/healthz"]
ENTRYPOINT ["ovh-vps-exporter"]
CMD ["serve"]
