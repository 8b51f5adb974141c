# zerobus-station in a container (docs/DEPLOY.md, "Container").
#   docker build -t zerobus-station .
#   docker run -p 8000:8000 -v zs-spool:/var/lib/zerobus-station \
#     -v $PWD/config.json:/etc/zerobus-station/config.json:ro \
#     -e DATABRICKS_CLIENT_ID -e DATABRICKS_CLIENT_SECRET zerobus-station

# Build: the same packages and the same install step as the .deb.
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake make gcc pkgconf libjansson-dev libprotobuf-c-dev protobuf-c-compiler \
      protobuf-compiler libprotobuf-dev libuv1-dev libhttp-parser-dev zlib1g-dev libzstd-dev \
      libgrpc-dev protobuf-compiler-grpc libcurl4-openssl-dev libssl-dev libsystemd-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      -DCMAKE_INSTALL_PREFIX=/usr \
    && cmake --build /build -j"$(nproc)" \
    && DESTDIR=/stage cmake --install /build

# Run: the runtime libraries only, an unprivileged user, the spool in a volume.
FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libjansson4 libprotobuf-c1 libuv1 libhttp-parser2.9 zlib1g libzstd1 libgrpc29 \
      libcurl4 libssl3 libsystemd0 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/zerobus-station zerobus \
    && mkdir -p /var/lib/zerobus-station && chown zerobus /var/lib/zerobus-station
COPY --from=build /stage/usr/bin/ /usr/bin/
COPY --from=build /stage/usr/share/ /usr/share/
COPY --from=build /stage/etc/zerobus-station/ /etc/zerobus-station/
USER zerobus
VOLUME /var/lib/zerobus-station
EXPOSE 8000
# Up when /health answers: 200 healthy, 503 degraded (Zerobus behind; the spool still takes
# records), as contrib/haproxy.cfg judges it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/health | grep -qE '^(200|503)$'
ENTRYPOINT ["/usr/bin/zerobus-station", "--config", "/etc/zerobus-station/config.json", \
            "--spool-dir", "/var/lib/zerobus-station/spool", "--log-format", "json"]
CMD ["--port", "8000"]
