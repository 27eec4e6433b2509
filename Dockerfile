# convstore: build on Debian bookworm, run on bookworm-slim with only the runtime libraries.

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config libmicrohttpd-dev libjansson-dev uuid-dev libssl-dev libpq-dev \
      python3 python3-yaml \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY scripts/embed.sh scripts/
COPY service/ service/
COPY routes/ routes/
COPY db/ db/
COPY migrations/ migrations/
COPY openapi/ openapi/
RUN make -j"$(nproc)" build && strip build/convstore

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libmicrohttpd12 libjansson4 libuuid1 libssl3 libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin convstore
COPY --from=build /src/build/convstore /usr/local/bin/convstore
USER 10001:10001
ENV CONVSTORE_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/convstore"]
CMD ["serve"]
