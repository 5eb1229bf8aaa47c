# vane in a container: the compiled binary only, on a distroless base (glibc, no
# shell, no package manager), as a non-root user.
#   npm run build && docker build -t vane .
#   docker run --rm -p 8080:8080 vane --route '*=backend.internal:9000'
# A config file: -v ./vane.yaml:/etc/vane/vane.yaml:ro and the arguments
# "--config /etc/vane/vane.yaml"; every flag also reads from VANE_* (docs/install.md).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --chmod=0755 dist/vane /usr/local/bin/vane
USER nonroot:nonroot
# In a container the status endpoint must listen beyond loopback to be reached;
# keep port 9901 unpublished unless the admin token is set.
ENV VANE_LISTEN=0.0.0.0:8080 VANE_STATUS=0.0.0.0:9901
EXPOSE 8080 9901
ENTRYPOINT ["/usr/local/bin/vane"]
