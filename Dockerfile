# Three images from one file (docs/deploy.md):
#   docker build --target api .         the API: patchhub + patchhub-server, no torch, no scikit-learn
#   docker build --target worker-cpu .  a worker with CPU-only torch wheels
#   docker build --target worker-gpu .  a worker with CUDA torch wheels (run it with the NVIDIA runtime)
# Each installs into a virtualenv in a build stage; the final stage copies only that virtualenv, runs as the
# unprivileged user `patchhub` and keeps its data directory (PATCHHUB_DATA_DIR) on a volume.
ARG PYTHON_IMAGE=python:3.11-slim
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu

FROM ${PYTHON_IMAGE} AS source
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY client ./client
COPY pyproject.toml README.md ./
COPY registry ./registry
COPY workers ./workers
COPY migrations ./migrations
RUN python -m venv /opt/patchhub

FROM source AS build-api
RUN /opt/patchhub/bin/pip install ./client .

FROM source AS build-worker-cpu
ARG TORCH_CPU_INDEX
RUN /opt/patchhub/bin/pip install --index-url ${TORCH_CPU_INDEX} "torch>=2.4"
RUN /opt/patchhub/bin/pip install ./client ".[worker]"

FROM source AS build-worker-gpu
RUN /opt/patchhub/bin/pip install "torch>=2.4"
RUN /opt/patchhub/bin/pip install ./client ".[worker]"

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/patchhub/bin:$PATH PYTHONUNBUFFERED=1 PATCHHUB_DATA_DIR=/var/lib/patchhub
RUN useradd --system --uid 10001 --create-home --home-dir /home/patchhub patchhub \
    && mkdir -p /var/lib/patchhub && chown patchhub:patchhub /var/lib/patchhub
WORKDIR /home/patchhub
VOLUME ["/var/lib/patchhub"]

FROM runtime AS worker-cpu
COPY --from=build-worker-cpu /opt/patchhub /opt/patchhub
USER patchhub
CMD ["patchhub-server", "worker", "--queues", "cpu", "--concurrency", "1"]

FROM runtime AS worker-gpu
COPY --from=build-worker-gpu /opt/patchhub /opt/patchhub
USER patchhub
CMD ["patchhub-server", "worker", "--queues", "gpu", "--concurrency", "1"]

# Last, so a plain `docker build .` makes the API image.
FROM runtime AS api
COPY --from=build-api /opt/patchhub /opt/patchhub
USER patchhub
EXPOSE 8000
CMD ["patchhub-server", "serve", "--host", "0.0.0.0", "--port", "8000"]
