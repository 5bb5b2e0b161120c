# Tessera image: `docker run tessera --cluster-enabled yes --appendonly yes --port 6381`, used as the
# official redis image is (see README "Run a cluster with Docker"). Build with `make docker`, which
# provides debian:bookworm-slim locally when no registry can (tools/docker-base-image.sh), or with
# `docker build --network host -t tessera .` where the base image can be pulled.
#
# build stage: compiles src/tessera-server (and src/tessera-check-aof when its source is there) with
# the project's Makefile; BUILD_ONLY=1 checks only the build dependencies (no tests, no test tools).
# runtime stage: the two binaries and their shared libraries, tini as PID 1 (forwards signals, so
# `docker stop` = SIGTERM reaches the server, which saves and exits 0), a non-root `tessera` user.

FROM debian:bookworm-slim AS build
# Lets `make docker` remove this stage's leftover images (and only those) after a build.
LABEL org.tessera.stage=build
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends gcc libc6-dev make pkg-config \
        libuv1-dev libjemalloc-dev libxxhash-dev; \
    rm -rf /var/lib/apt/lists/*
WORKDIR /usr/src/tessera
COPY Makefile ./
COPY deps ./deps
COPY src ./src
# Extra make variables for the build (none by default): --build-arg MAKE_FLAGS="NAME=value ...".
ARG MAKE_FLAGS=""
RUN set -eux; \
    make BUILD_ONLY=1 $MAKE_FLAGS deps-check src/tessera-server; \
    mkdir out; cp src/tessera-server out/; \
    if [ -f src/tools/check_aof.c ]; then \
        make BUILD_ONLY=1 $MAKE_FLAGS src/tessera-check-aof; cp src/tessera-check-aof out/; \
    fi; \
    strip --strip-unneeded out/*; \
    ./out/tessera-server --version

FROM debian:bookworm-slim
# Lets `make docker` remove the untagged images of earlier builds (and only those).
LABEL org.tessera.image=server
# uid/gid 999 as in the official redis image, so volumes move between the two.
RUN set -eux; \
    groupadd -r -g 999 tessera; \
    useradd -r -g tessera -u 999 -d /data -s /usr/sbin/nologin tessera
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends libuv1 libjemalloc2 libxxhash0 tini; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
           /var/cache/debconf/*-old /var/lib/dpkg/*-old
COPY --from=build /usr/src/tessera/out/ /usr/local/bin/
COPY tools/docker/docker-entrypoint.sh /usr/local/bin/
RUN set -eux; \
    tessera-server --version; \
    mkdir /data; \
    chown tessera:tessera /data
VOLUME /data
WORKDIR /data
ENTRYPOINT ["tini", "--", "docker-entrypoint.sh"]
EXPOSE 6379 16379
CMD ["tessera-server"]
