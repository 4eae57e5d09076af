# onecse in a container: a static binary on distroless, as a non-root user,
# with its data in a volume.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse HEAD) -t onecse .
#   docker run -p 8080:8080 -v onecse-data:/var/lib/onecse onecse
#
# The configuration is packaging/onecse.yaml (every key, commented) with the
# HTTP listener on all interfaces; mount another at /etc/onecse/onecse.yaml or
# add flags after the image name (they override the file). Give the address
# other CSEs and AEs reach the container at as its point of access, e.g.
#   docker run ... onecse --poa http://cse.example.com:8080
# (without it the CSEBase announces http://127.0.0.1:8080).

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first, so that a change of the sources does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG COMMIT=""
# modernc.org/sqlite is pure Go: a static binary without cgo.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/onecse/onecse/internal/version.Version=${VERSION} -X github.com/onecse/onecse/internal/version.Commit=${COMMIT}" \
      -o /out/onecse ./cmd/onecse \
 && mkdir -p /out/data

# distroless/static: CA certificates, tzdata, /etc/passwd with the nonroot
# user (65532), no shell. Its size is the binary's plus about 2 MB.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/onecse /usr/local/bin/onecse
COPY packaging/onecse.yaml /etc/onecse/onecse.yaml
# The data directory belongs to the non-root user the CSE runs as; a named
# volume mounted there starts with this ownership.
COPY --from=build --chown=65532:65532 /out/data /var/lib/onecse
USER 65532:65532
VOLUME ["/var/lib/onecse"]
# 8080: HTTP and WebSocket. Listeners that are off by default, when enabled
# in the configuration: 8443 (https-psk), 8444 (https-cert), 1883
# (mqtt-embedded).
EXPOSE 8080
# Requests reach the container from another host (the bridge): with the
# default require-sa-for-cses/-aes "auto" an IN-CSE then refuses CSE and AE
# registration without a security association (4107). Enable https-psk or
# https-cert for production, or pass --require-sa-for-aes=off (and
# --require-sa-for-cses=off) for a development container.
# The image has no curl or wget: the binary checks its own /readyz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/onecse", "healthcheck", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/onecse", "--config", "/etc/onecse/onecse.yaml", "--http", "0.0.0.0:8080"]
