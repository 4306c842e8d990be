# The kiada image. Build from the repository root:
#
#   docker build -f Dockerfiles/kiada.Dockerfile -t kiada-suite/kiada:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -f Dockerfiles/kiada.Dockerfile .
# (No `# syntax=` line: it would pull a frontend image; BuildKit's built-in one runs RUN --mount.)
#
# CI builds this file as written (kind/build-images, on base-image stand-ins: see
# .ci/docker/README.md); images/check-parity checks the image against its final stage.
#
# Like the quote image, this one has a shell: section 11 of the chapter runs commands
# in the kiada container (`kubectl exec kiada-001 -c kiada -- sh -c "..."` with curl
# in a loop, nslookup) and its readiness lesson lists, creates and deletes a file
# (`ls /var/ready`, `touch`, `rm`). images/mkrootfs --shell-tools adds the same
# busybox applets, curl and iputils ping as the quote and toolbox images have.
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
# native image on every platform the base image has (amd64 and arm64 among them). The build stage
# deliberately runs on the target platform (no --platform=$BUILDPLATFORM): buildx
# runs it once per platform, natively or under QEMU emulation. That is slower than
# cross-compiling, but simple and correct: a cross build would need a cross linker
# and the target's glibc, curl and ping from Debian multiarch, and ldd cannot read a foreign
# binary, so mkrootfs would copy the build host's libraries, not the target's.

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
      cargo build --release --locked --workspace --bin kiada \
 && images/mkrootfs service --shell-tools kiada "/cache/target/${TARGETARCH:-native}/release/kiada" /rootfs

# The runtime image: the binary, the C libraries it and the shell tools are linked
# against, busybox, curl, ping and the files name resolution needs: the whole of
# what images/mkrootfs assembled, in one COPY. No package manager.
FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.title="kiada" \
      org.opencontainers.image.description="Kiada suite frontend (HTTP and HTTPS), with busybox, curl and ping" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="kiada-suite"
WORKDIR /
USER 65532:65532
EXPOSE 8080/tcp 8443/tcp
ENTRYPOINT ["/usr/local/bin/kiada"]
