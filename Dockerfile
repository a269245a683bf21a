# syntax=docker/dockerfile:1
# Multi-stage build: client bundles from npm, the player's demo clip and a
# static Go binary, and a final image that holds that binary alone, running
# as a non-root user.

FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY scripts/ scripts/
COPY static/ static/
RUN node scripts/copy-client-bundles.js

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=assets /src/static/vendor/socketio/ static/vendor/socketio/
RUN go run ./cmd/democlip -o static/media/demo.wav
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/chatserver . \
 && mkdir -p /out/data

FROM scratch
COPY --from=build /out/chatserver /chatserver
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV ADDR=:8080 DATA_DIR=/data
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/chatserver", "healthcheck"]
ENTRYPOINT ["/chatserver"]
