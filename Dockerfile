# UNTESTED: no container runtime was available where this was written. It follows the usual
# multi-stage pattern; please report problems.
#
#   docker build -t palisade .
#   docker run --rm -v "$PWD:/work" palisade lint /work/k8s
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p palisade

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/palisade /usr/local/bin/palisade
USER nonroot:nonroot
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/palisade"]
