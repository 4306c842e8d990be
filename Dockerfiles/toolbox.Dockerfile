# The toolbox image: a small client for the in-cluster exercises: sh, env, wget,
# nslookup, nc ... from Debian's busybox, curl, and ping from iputils. kiada and quiz
# ship no shell; the quote image carries the same tools (images/mkrootfs puts them
# in both). Run this image as the `client` pod, or beside any pod with
# `kubectl debug`. Build from the repository root:
#
#   docker build -f Dockerfiles/toolbox.Dockerfile -t kiada-suite/toolbox:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -f Dockerfiles/toolbox.Dockerfile .
# (No `# syntax=` line: it would pull a frontend image; BuildKit's built-in one runs RUN --mount.)
#
# The base image is pinned by version tag; its digest could not be looked up when
# this file was written (no registry access on the build machine): pin it with
# @sha256:... once resolved, e.g. with `docker buildx imagetools inspect <image>`.
#
# Platforms: nothing here names an architecture. The build stage runs on the target
# platform (natively or under QEMU emulation with buildx): it installs that
# platform's Debian packages, and images/mkrootfs copies the loader and libraries at
# the paths ldd reports for them; the last stage copies the assembled root whole.

FROM docker.io/library/debian:12.12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends busybox curl iputils-ping \
 && rm -rf /var/lib/apt/lists/*
COPY images/ /src/images/
RUN /src/images/mkrootfs toolbox /rootfs

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.title="toolbox" \
      org.opencontainers.image.description="Kiada suite client toolbox (busybox, curl, ping)" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="kiada-suite"
WORKDIR /
USER 65532:65532
EXPOSE 8080/tcp
CMD ["/bin/sh"]
