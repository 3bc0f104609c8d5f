# Build: docker build -t rookery .   Run: see docker-compose.yml and README.md "Deploying".
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked

FROM debian:bookworm-slim
# ffmpeg probes and transcodes uploaded videos (the media jobs), in /tmp.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates ffmpeg \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app rookery
WORKDIR /app
COPY --from=build /src/target/release/rookery /usr/local/bin/rookery
COPY config ./config
# Without SMTP_URL, emails are written under var/mail: the service user must own var/.
RUN mkdir -p /app/var && chown rookery /app/var
USER rookery
ENV ROOKERY_ENV=production HOST=0.0.0.0 PORT=8080
EXPOSE 8080
ENTRYPOINT ["rookery"]
CMD ["serve"]
