# syntax=docker/dockerfile:1
# The Seaway tools image: the `seaway` command with the runtime kit and every service's declaration, and no
# service's code. On kind the aws-resources Job runs `seaway create-resources` from it against the emulator.
# A file of its own, not a stage of services/Dockerfile: skaffold watches every COPY source of a Dockerfile,
# whatever the target, so a tools stage there would make each service image rebuild when the tools change.
#   docker build -f services/tools.Dockerfile -t seaway-tools .
ARG PYTHON_IMAGE=python:3.12.12-slim-trixie

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# The runtime lock: what `seaway create-resources` needs (boto3); the Kubernetes client and moto stay out.
COPY requirements/runtime.lock /tmp/runtime.lock
RUN pip install --no-deps --requirement /tmp/runtime.lock
WORKDIR /src
COPY pyproject.toml README.md ./
COPY services/seaway services/seaway
COPY services/seaway_tools services/seaway_tools
# Each service's OpenAPI document too: create-resources gives the user pool's AUTH_* to the services whose
# operations need a customer's token (seaway_tools.resources.verifies_tokens).
COPY --parents services/storefront/__init__.py services/storefront/*/__init__.py services/storefront/*/service.py services/storefront/*/openapi.yaml ./
RUN pip install --no-deps . && seaway services >/dev/null

FROM ${PYTHON_IMAGE} AS tools
RUN groupadd --system --gid 10001 seaway \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin seaway
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
ENTRYPOINT ["seaway"]
