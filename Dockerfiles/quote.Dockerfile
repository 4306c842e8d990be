# The quote image. Build from the repository root:
#
#   docker build -f Dockerfiles/quote.Dockerfile -t kiada-suite/quote:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -f Dockerfiles/quote.Dockerfile .
# (No `# syntax=` line: it would pull a frontend image; BuildKit's built-in one runs RUN --mount.)
#
# CI builds this file as written (kind/build-images, on base-image stand-ins: see
# .ci/docker/README.md); images/check-parity checks the image against its final stage.
#
# Unlike quiz, this image has a shell (as kiada's has): the chapter runs its in-pod
# commands in the quote pods (`kubectl exec -it quote-001 -- sh`, then curl, wget,
# nslookup, env, kill, ping ...). images/mkrootfs --shell-tools adds the same
# busybox applets, curl and iputils ping as the toolbox image has; ping carries no
# file capabilities and works as user 65532 where the pod allows ICMP datagram
# sockets (net.ipv4.ping_group_range, which container runtimes set).
#
# Base images are pinned by version tag. Their digests could not be looked up when
# this file was written (no registry access on the build machine): pin them with
# @sha256:... once resolved, e.g. with `docker buildx imagetools inspect <image>`.
# The build stage runs Debian 12 (bookworm), so the binary is linked against the
# same glibc that images/mkrootfs copies into the image.
#
# Platforms: nothing here names an architecture. images/mkrootfs puts the dynamic
# loader and the libraries at the paths ldd reports for the binary, curl and ping,
# and the last stage copies the assembled root whole, so the same file builds a
# native image on every platform the base image has (amd64 and arm64 among them).
# The build stage deliberately runs on the target platform (no
# --platform=$BUILDPLATFORM): buildx runs it once per platform, natively or under
# QEMU emulation. That is slower than cross-compiling, but simple and correct: a
# cross build would need a cross linker and the target's glibc, curl and ping from
# Debian multiarch, and ldd cannot read a foreign binary, so mkrootfs would copy the
# build host's libraries, not the target's.

FROM docker.io/library/rust:1.95.0-slim-bookworm AS build
# The shell tools that images/mkrootfs --shell-tools copies into the image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends busybox curl iputils-ping \
 && rm -rf /var/lib/apt/lists/*
# --workspace --bin: "quote" also names a crates.io dependency, and the workspace's
# default member is the all-in-one suite binary. Each platform gets its own target
# directory in the cache; the caches are locked, so parallel platform builds take
# turns instead of racing on them.
ARG TARGETARCH
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/cache/target,sharing=locked \
    CARGO_TARGET_DIR="/cache/target/${TARGETARCH:-native}" \
      cargo build --release --locked --workspace --bin quote \
 && images/mkrootfs service --shell-tools quote "/cache/target/${TARGETARCH:-native}/release/quote" /rootfs

# The runtime image: the binary, the C libraries it and the shell tools are linked
# against, busybox, curl, ping and the files name resolution needs: the whole of
# what images/mkrootfs assembled, in one COPY. No package manager.
FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.title="quote" \
      org.opencontainers.image.description="Kiada suite quote service (tip of the minute), with busybox, curl and ping" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="kiada-suite"
WORKDIR /
USER 65532:65532
# Port 80, where the pods run quote: the manifests set LISTEN_PORT=80 and the pod
# sysctl net.ipv4.ip_unprivileged_port_start=0, so user 65532 may bind it (the
# chapter's Service has targetPort 80). The binary's own default stays 8080: run
# without LISTEN_PORT=80 (docker run, cargo run) it listens there, not on 80.
EXPOSE 80/tcp
ENTRYPOINT ["/usr/local/bin/quote"]
