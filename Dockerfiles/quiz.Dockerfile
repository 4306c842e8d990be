# syntax=docker/dockerfile:1
# The quiz image. Build from the repository root:
#
#   docker build -f Dockerfiles/quiz.Dockerfile -t kiada-suite/quiz:0.1.0 .
#
# Without Docker, images/build produces the same image from a release binary;
# images/check-parity keeps the final stage below and that script in step.
#
# Base images are pinned by version tag. Their digests could not be looked up when
# this file was written (no registry access on the build machine): pin them with
# @sha256:... once resolved, e.g. with `docker buildx imagetools inspect <image>`.
# The build stage runs Debian 12 (bookworm), so the binary is linked against the
# same glibc that images/mkrootfs copies into the image.

FROM docker.io/library/rust:1.95.0-slim-bookworm AS build
# --workspace --bin: "quote" also names a crates.io dependency, and the workspace's
# default member is the all-in-one suite binary.
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --workspace --bin quiz \
 && images/mkrootfs service quiz target/release/quiz /rootfs

# The runtime image: no shell, no package manager, only the binary, the C
# libraries it is linked against and the files name resolution needs.
FROM scratch
COPY --from=build /rootfs/etc/ /etc/
COPY --from=build /rootfs/lib64/ /lib64/
COPY --from=build /rootfs/lib/x86_64-linux-gnu/ /lib/x86_64-linux-gnu/
COPY --from=build /rootfs/usr/local/bin/quiz /usr/local/bin/quiz
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.title="quiz" \
      org.opencontainers.image.description="Kiada suite quiz service" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="kiada-suite"
WORKDIR /
USER 65532:65532
EXPOSE 8080/tcp
ENTRYPOINT ["/usr/local/bin/quiz"]
