# Reference image for checking the e2e tests themselves: Debian's redis-server 7.0 behind the
# same entrypoint as the Tessera image (tessera-server is a link to redis-server).
#   docker build --network host -f tests/e2e/reference.Dockerfile -t tessera-e2e-reference tools/docker
#   TESSERA_E2E_REFERENCE=1 make e2e      (conftest.py builds it and runs every test against it)
FROM debian:bookworm-slim
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends redis-server tini; \
    rm -rf /var/lib/apt/lists/*; \
    ln -s /usr/bin/redis-server /usr/local/bin/tessera-server; \
    useradd -r -d /data -s /usr/sbin/nologin tessera; \
    mkdir /data; chown tessera:tessera /data
COPY docker-entrypoint.sh /usr/local/bin/
VOLUME /data
WORKDIR /data
ENTRYPOINT ["tini", "--", "docker-entrypoint.sh"]
EXPOSE 6379 16379
CMD ["tessera-server"]
