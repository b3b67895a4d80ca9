# One image for the API and the workers. GPU workers run it with the NVIDIA runtime; torch finds CUDA then.
FROM python:3.11-slim
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
COPY client ./client
COPY pyproject.toml README.md ./
COPY registry ./registry
COPY workers ./workers
COPY migrations ./migrations
RUN pip install ./client . && useradd --create-home patchhub
USER patchhub
EXPOSE 8000
CMD ["patchhub-server", "serve", "--host", "0.0.0.0", "--port", "8000"]
