# Credence: a multi-stage build. The first stage compiles the `credence` binary (SQLite and
# libpq are bundled, OpenSSL for PostgreSQL TLS is vendored, webhooks use rustls: no system
# libraries are needed at run time but the CA certificates); the second runs it as a
# non-root user.
#
#   docker build -t credence .
#   docker run -p 8080:8080 -e CREDENCE_ADMIN_KEY=a-long-operator-secret -v credence:/var/lib/credence credence

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Every workspace member must be present for cargo to read the workspace.
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY xtask xtask
COPY tests tests
RUN cargo build --release --locked -p credence-server \
    && cp target/release/credence /usr/local/bin/credence

FROM debian:bookworm-slim
# CA certificates: webhook deliveries over HTTPS and PostgreSQL with sslmode=verify-full.
# curl: the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/credence --create-home credence
COPY --from=build /usr/local/bin/credence /usr/local/bin/credence
USER credence
WORKDIR /var/lib/credence
# Listen on every interface inside the container; the SQLite file lives in the volume.
ENV CREDENCE_BIND=0.0.0.0:8080 \
    CREDENCE_DATABASE_URL=sqlite:///var/lib/credence/credence.db
VOLUME ["/var/lib/credence"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
# SIGTERM starts the graceful shutdown: readiness turns 503, the listener drains, requests
# in flight finish, background work stops at a safe point.
STOPSIGNAL SIGTERM
ENTRYPOINT ["credence"]
CMD ["serve"]
