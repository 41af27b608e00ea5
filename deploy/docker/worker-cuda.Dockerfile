# A GPU worker: TorchSharp-cuda-linux 0.107 instead of TorchSharp-cpu, one pod per GPU (helm/blip-orchestrator).
# Build from the repository root, on a machine whose NuGet feeds carry TorchSharp-cuda-linux 0.107.0 and the
# libtorch-cuda packages it depends on (nuget.org does):
#   docker build -f deploy/docker/worker-cuda.Dockerfile -t blip-orchestrator/worker-cuda:0.1.0 .
#
# NOT BUILT HERE: the NuGet mirror of this project's development machines cannot restore TorchSharp-cuda-linux, so this
# file has been checked by reading only (paths, the TorchSharpPackage property in Directory.Build.props), never run.
#
# Debian 12 as in worker-cpu.Dockerfile: the TorchSharp native fix targets Debian 12's libstdc++. The CUDA runtime,
# cuBLAS and cuDNN come inside TorchSharp's libtorch-cuda packages; only the driver (libcuda.so) comes from the node,
# through the NVIDIA container toolkit. The Gloo shim is left out: a GPU gang uses NCCL.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS dotnet-sdk
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS dotnet-runtime

FROM debian:bookworm-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libicu72 libssl3 zlib1g \
    && rm -rf /var/lib/apt/lists/*
COPY --from=dotnet-sdk /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
WORKDIR /src
COPY . .
# Directory.Build.props: TorchSharpPackage picks the TorchSharp runtime package every project references.
RUN dotnet publish src/Trainer.Worker/Trainer.Worker.csproj -c Release -p:TorchSharpPackage=TorchSharp-cuda-linux -o /app

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libicu72 libssl3 zlib1g tzdata \
    && rm -rf /var/lib/apt/lists/*
COPY --from=dotnet-runtime /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
    && useradd --create-home --uid 1654 app \
    && mkdir -p /work && chown app /work
WORKDIR /app
COPY --from=build /app .
# The NVIDIA container toolkit mounts the driver for the GPU the pod was given (nvidia.com/gpu: 1).
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    Worker__Device=cuda \
    Worker__Slots=1
EXPOSE 5090 9464
USER app
ENTRYPOINT ["dotnet", "Trainer.Worker.dll"]
