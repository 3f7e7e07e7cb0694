# One image per service, from one build: `docker build --build-arg SERVICE=booking .`
# docker-compose.yml builds all five; the build stage is shared and cached between them.

FROM rust:1.95-bookworm AS build
# librdkafka is built from source by rdkafka-sys (static), which needs a C toolchain and cmake.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake pkg-config zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --workspace --bins \
 && mkdir -p /out \
 && for service in gateway queue booking payment catalog; do cp "target/release/floodgate-$service" /out/; done

FROM debian:bookworm-slim AS service
ARG SERVICE
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 floodgate
COPY --from=build /out/floodgate-${SERVICE} /usr/local/bin/floodgate-service
# Numeric, so Kubernetes can verify runAsNonRoot.
USER 10001
# Same defaults as deploy/: gRPC on 50051, admin (/healthz, /readyz, /metrics) on 9100.
ENV FLOODGATE_GRPC_ADDR=0.0.0.0:50051 \
    FLOODGATE_ADMIN_ADDR=0.0.0.0:9100 \
    FLOODGATE_LOG_FORMAT=json
EXPOSE 50051 9100
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=12 \
  CMD curl -fsS http://127.0.0.1:9100/readyz || exit 1
ENTRYPOINT ["/usr/local/bin/floodgate-service"]
