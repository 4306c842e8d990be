# syntax=docker/dockerfile:1
# The toolbox image: a small client for the in-cluster exercises: sh, env, wget,
# nslookup, nc ... from busybox-static, curl, and ping from iputils. The service
# images ship no shell; run this image as the `client` pod instead. Build from the
# repository root:
#
#   docker build -f Dockerfiles/toolbox.Dockerfile -t kiada-suite/toolbox:0.1.0 .
#
# The base image is pinned by version tag; its digest could not be looked up when
# this file was written (no registry access on the build machine): pin it with
# @sha256:... once resolved, e.g. with `docker buildx imagetools inspect <image>`.

FROM docker.io/library/debian:12.12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends busybox-static curl iputils-ping \
 && rm -rf /var/lib/apt/lists/*
COPY images/ /src/images/
RUN /src/images/mkrootfs toolbox /rootfs

FROM scratch
COPY --from=build /rootfs/etc/ /etc/
COPY --from=build /rootfs/bin/ /bin/
COPY --from=build /rootfs/usr/bin/curl /rootfs/usr/bin/ping /usr/bin/
COPY --from=build /rootfs/lib64/ /lib64/
COPY --from=build /rootfs/lib/x86_64-linux-gnu/ /lib/x86_64-linux-gnu/
COPY --from=build /rootfs/srv/www/ /srv/www/
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
