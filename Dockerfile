# One weft role per image, for those who build with Docker (`make images`
# builds the same four with ko and no daemon; see deploy/README.md):
#
#   docker build --build-arg ROLE=state-engine -t weft/state-engine .
#
# ROLE is executor, state-engine, tag-engine or event-listener (the
# binaries of functions/); DRIVERS the backends linked, as in `make
# functions` (any of pulsar knative pgqueue postgres redis mysql; "all" for
# every one), by default the profile of .ko.yaml. The binary is static,
# stripped and built with cmd/weft-linkfix's flags; the final image is
# scratch with a nonroot user, the builder's CA certificates and /tmp.

ARG GO_IMAGE=golang:1.26

FROM ${GO_IMAGE} AS build
ARG ROLE=executor
ARG DRIVERS="pulsar postgres redis knative"
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	set -eu; \
	case "$ROLE" in executor|state-engine|tag-engine|event-listener) ;; \
		*) echo "ROLE=$ROLE: want executor, state-engine, tag-engine or event-listener" >&2; exit 1 ;; esac; \
	tags=""; \
	if [ "$DRIVERS" != all ]; then tags="weft_custom"; for d in $DRIVERS; do tags="$tags weft_$d"; done; fi; \
	flags=$(go run ./cmd/weft-linkfix -dir /tmp/linkfix); \
	CGO_ENABLED=0 go build $flags -trimpath -ldflags='-s -w' -tags "$tags" -o /out/weft-role ./functions/$ROLE
# The final image's files: the nonroot user (65532, as in distroless), CA
# certificates, a writable /tmp and the nonroot home.
RUN set -eu; \
	mkdir -p /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/home/nonroot; \
	printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >/rootfs/etc/passwd; \
	printf 'root:x:0:\nnonroot:x:65532:\n' >/rootfs/etc/group; \
	printf 'hosts: files dns\n' >/rootfs/etc/nsswitch.conf; \
	cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/; \
	chmod 1777 /rootfs/tmp; \
	chown 65532:65532 /rootfs/home/nonroot; chmod 700 /rootfs/home/nonroot

FROM scratch
ARG ROLE=executor
COPY --from=build /rootfs/ /
COPY --from=build /out/weft-role /usr/local/bin/weft-role
LABEL org.opencontainers.image.title="weft-${ROLE}" \
	org.opencontainers.image.source="https://github.com/weftio/weft"
ENV PATH=/usr/local/bin
WORKDIR /home/nonroot
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/weft-role"]
