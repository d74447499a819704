# keysvc: multi-stage image. The build stage installs the project with its
# `server` extra into a virtualenv, pinned as the Makefile does (constraints.txt);
# the runtime stage carries only that virtualenv and runs as a non-root user.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY keysvc ./keysvc
COPY signing ./signing
COPY scheduler ./scheduler
RUN python -m venv /opt/keysvc \
    && /opt/keysvc/bin/python -m pip install -c constraints.txt '.[server]'

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 keysvc \
    && useradd --system --uid 10001 --gid keysvc --no-create-home --home-dir /data keysvc \
    && mkdir /data \
    && chown keysvc:keysvc /data \
    && chmod 0700 /data
COPY --from=build /opt/keysvc /opt/keysvc
ENV PATH=/opt/keysvc/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KEYSVC_DATA_DIR=/data \
    KEYSVC_LISTEN=0.0.0.0:50051 \
    KEYSVC_METRICS_LISTEN=0.0.0.0:9464
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 50051 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["keysvc", "health", "--address", "127.0.0.1:50051"]
ENTRYPOINT ["keysvc"]
CMD ["serve"]
