# berth's own image. Build: docker build -t berth .
# Run (host networking: bridge-mode ports and load balancers are published on the host, and the
# task metadata and credentials endpoints at 169.254.170.2 are reachable by tasks; NET_ADMIN lets
# berth add that address to the host's lo, as the ECS agent does):
#   docker run --rm --network host --cap-add NET_ADMIN \
#       -v /var/run/docker.sock:/var/run/docker.sock berth
# tests/py/berth/test_image.py builds an equivalent image offline (no registry) and runs a task
# through berth inside it.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin berth && cp target/release/berth /berth

FROM debian:bookworm-slim
# iproute2: `ip addr add 169.254.170.2/32 dev lo`, how berth makes the metadata address local.
RUN apt-get update \
    && apt-get install -y --no-install-recommends iproute2 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /berth /usr/local/bin/berth
# berth drives the engine it is given; it pulls nothing itself (tasks use local images).
EXPOSE 4566
ENTRYPOINT ["/usr/local/bin/berth"]
