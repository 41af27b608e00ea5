# The silo: Orleans, the HTTP API, the orchestrator's side of the bus. No TorchSharp, so the stock .NET images serve
# (Ubuntu 24.04, the .NET 10 default). Build from the repository root:
#   docker build -f deploy/docker/silo.Dockerfile -t blip-orchestrator/silo:0.1.0 .
# The chart (helm/blip-orchestrator) sets ASPNETCORE_URLS, the storage account and the ports through the environment.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Orchestrator.Silo/Orchestrator.Silo.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# HTTP API and /metrics, silo-to-silo, client gateway (values.yaml: silo.httpPort, siloPort, gatewayPort).
EXPOSE 5080 11111 30001
USER $APP_UID
ENTRYPOINT ["dotnet", "Orchestrator.Silo.dll"]
