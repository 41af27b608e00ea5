# A CPU worker: TorchSharp-cpu, and the Gloo shim so that it offers the Gloo collectives backend to CPU gangs.
# Build from the repository root:
#   docker build -f deploy/docker/worker-cpu.Dockerfile -t blip-orchestrator/worker-cpu:0.1.0 .
#
# Debian 12, not the .NET 10 images' Ubuntu 24.04: the shim is built and tested against Debian 12's libgloo-dev
# (native/gloo, docs/decisions/gloo-backend.md), and the TorchSharp native fix (docs/decisions/torchsharp-native-fix.md)
# is made for Debian 12's libstdc++. .NET itself is the portable linux-x64 build, copied from Microsoft's images.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS dotnet-sdk
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS dotnet-runtime

FROM debian:bookworm-slim AS build
# What the .NET SDK needs on Debian 12 (libicu72, libssl3, zlib1g), and libgloo-dev with g++ for the shim.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libicu72 libssl3 zlib1g libgloo-dev g++ \
    && rm -rf /var/lib/apt/lists/*
COPY --from=dotnet-sdk /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
WORKDIR /src
COPY . .
# Builds .native/libvl_gloo.so (the packages are installed above, so it installs nothing).
RUN ./scripts/build-native.sh
RUN dotnet publish src/Trainer.Worker/Trainer.Worker.csproj -c Release -o /app

FROM debian:bookworm-slim
# The .NET runtime's dependencies, tzdata, and Gloo's runtime library (libgloo0) for the shim.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libicu72 libssl3 zlib1g tzdata libgloo0 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=dotnet-runtime /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
    && useradd --create-home --uid 1654 app \
    && mkdir -p /work && chown app /work
WORKDIR /app
COPY --from=build /app .
COPY --from=build /src/.native/libvl_gloo.so /app/libvl_gloo.so
# GlooCollectives looks here first (then beside the application, where it also is).
ENV VL_GLOO_LIBRARY=/app/libvl_gloo.so \
    Worker__Device=cpu
# Health and /metrics (values.yaml: worker.healthPort, worker.metricsPort).
EXPOSE 5090 9464
USER app
ENTRYPOINT ["dotnet", "Trainer.Worker.dll"]
