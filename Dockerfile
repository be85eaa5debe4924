# syntax=docker/dockerfile:1
# Builds baton-trayai from source: `docker build -t baton-trayai .`
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=none
ARG DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/baton-trayai ./cmd/baton-trayai

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/baton-trayai /baton-trayai
USER nonroot:nonroot
ENTRYPOINT ["/baton-trayai"]
