# syntax=docker/dockerfile:1
# Chronicle: one image, every role (`chronicle serve | command-api | query-api | projector`).
#   docker build -t chronicle .
#   docker run -p 1337:1337 chronicle serve --appId myAppId --masterKey myMasterKey

FROM rust:1-bookworm AS builder
# rdkafka builds its bundled librdkafka (mklove ./configure + make, statically linked) and links
# zlib for compression; cmake is only needed if the `cmake-build` feature is ever enabled.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake pkg-config zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and the target directory between builds (BuildKit);
# the binary is copied out of the cached target in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin chronicle \
 && install -m 0755 target/release/chronicle /usr/local/bin/chronicle

FROM debian:bookworm-slim
# ca-certificates for outbound TLS, curl for the health checks; zlib (librdkafka's only shared
# dependency besides libc) is part of the base image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/chronicle --create-home chronicle
COPY --from=builder /usr/local/bin/chronicle /usr/local/bin/chronicle
USER chronicle
# The embedded stack (`serve`) keeps its event log in ./data, i.e. /var/lib/chronicle/data.
WORKDIR /var/lib/chronicle
EXPOSE 1337
ENV RUST_LOG=info
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT:-1337}/health" || exit 1
ENTRYPOINT ["chronicle"]
