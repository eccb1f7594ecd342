# syntax=docker/dockerfile:1
#
# ssprctl as a container image: a static (musl) binary on distroless/static,
# run as a non-root user.
#
#   docker build -t ssprctl .
#   docker run --rm -v "$PWD:/work" -w /work ssprctl plan --config ssprctl.yaml
#
# The image holds only the binary, CA certificates and /etc/passwd (distroless);
# no shell. Mount the directory with the desired-state file; apply writes its
# journal to .ssprctl/journal/ there, so that directory must be writable by
# uid 65532 (or pass `--user "$(id -u):$(id -g)"`).

# ---- build ----------------------------------------------------------------
# The Rust version is the workspace's rust-version (Cargo.toml) or newer.
FROM rust:1.95-alpine AS build
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
# musl targets link statically by default; --locked builds exactly Cargo.lock.
RUN cargo build --release --locked --bin ssprctl \
    && cp target/release/ssprctl /ssprctl \
    && /ssprctl --version

# ---- run ------------------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="ssprctl" \
      org.opencontainers.image.description="Self-service password reset and password-writeback settings of Microsoft Entra ID, as code"
COPY --from=build /ssprctl /usr/local/bin/ssprctl
# distroless's "nonroot" user (uid/gid 65532).
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["ssprctl"]
CMD ["--help"]
