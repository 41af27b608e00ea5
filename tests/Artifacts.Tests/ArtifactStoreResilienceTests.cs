using Azure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace Orchestrator.Artifacts.Tests;

public sealed class ArtifactStoreResilienceTests
{
    [Fact]
    public async Task Transient_io_errors_are_retried_until_the_call_succeeds()
    {
        var pipeline = Pipeline(maxRetryAttempts: 3);
        var attempts = 0;

        var result = await pipeline.ExecuteAsync(_ => ++attempts < 3 ? throw new IOException("device busy") : ValueTask.FromResult(42));

        Assert.Equal(42, result);
        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task Retries_stop_after_the_configured_attempts_and_the_last_error_surfaces()
    {
        var pipeline = Pipeline(maxRetryAttempts: 2);
        var attempts = 0;

        var error = await Assert.ThrowsAsync<IOException>(async () =>
            await pipeline.ExecuteAsync<int>(_ => throw new IOException($"attempt {++attempts}")));

        Assert.Equal("attempt 3", error.Message);
    }

    [Theory]
    [InlineData("corrupt")]
    [InlineData("not-found")]
    [InlineData("argument")]
    [InlineData("conflict")]
    [InlineData("missing-file")]
    [InlineData("blob-404")]
    [InlineData("blob-409")]
    public async Task Errors_that_asking_again_cannot_fix_are_not_retried(string kind)
    {
        Exception failure = kind switch
        {
            "corrupt" => new ArtifactCorruptException("file:///a/manifest.json", "file 'x' is missing"),
            "not-found" => new ArtifactNotFoundException("file:///a/manifest.json", "there is no manifest"),
            "argument" => new ArgumentException("bad id", "draft"),
            "conflict" => new InvalidOperationException("already exists with different content"),
            "missing-file" => new FileNotFoundException("gone", "/a/b"),
            "blob-404" => new RequestFailedException(404, "BlobNotFound"),
            _ => new RequestFailedException(409, "BlobAlreadyExists"),
        };
        var pipeline = Pipeline(maxRetryAttempts: 3);
        var attempts = 0;

        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
            await pipeline.ExecuteAsync<int>(_ =>
            {
                attempts++;
                throw failure;
            }));

        Assert.Same(failure, error);
        Assert.Equal(1, attempts);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task Azure_failures_that_may_pass_are_retried(int status)
    {
        var pipeline = Pipeline(maxRetryAttempts: 1);
        var attempts = 0;

        var result = await pipeline.ExecuteAsync(_ => ++attempts == 1 ? throw new RequestFailedException(status, "transient") : ValueTask.FromResult("ok"));

        Assert.Equal("ok", result);
        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task A_store_that_keeps_failing_opens_the_circuit_and_calls_then_fail_without_trying()
    {
        var pipeline = Pipeline(maxRetryAttempts: 0, minimumThroughput: 2);
        var attempts = 0;
        for (var call = 0; call < 2; call++)
        {
            await Assert.ThrowsAsync<IOException>(async () => await pipeline.ExecuteAsync<int>(_ => throw new IOException($"call {++attempts}")));
        }

        await Assert.ThrowsAsync<BrokenCircuitException>(async () => await pipeline.ExecuteAsync<int>(_ => throw new IOException($"call {++attempts}")));

        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task A_cancellation_the_caller_asked_for_is_not_retried()
    {
        var pipeline = Pipeline(maxRetryAttempts: 3);
        using var cancellation = new CancellationTokenSource();
        var attempts = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await pipeline.ExecuteAsync<int>(token =>
            {
                attempts++;
                cancellation.Cancel();
                token.ThrowIfCancellationRequested();
                return ValueTask.FromResult(0);
            }, cancellation.Token));

        Assert.Equal(1, attempts);
    }

    private static Polly.ResiliencePipeline Pipeline(int maxRetryAttempts, int minimumThroughput = 10)
    {
        var options = new ArtifactStoreOptions
        {
            MaxRetryAttempts = maxRetryAttempts,
            RetryBaseDelay = TimeSpan.Zero,
            RetryMaxDelay = TimeSpan.Zero,
            CircuitBreakerMinimumThroughput = minimumThroughput,
        };
        return new ArtifactStoreResilience(Options.Create(options), NullLogger<ArtifactStoreResilience>.Instance).Pipeline;
    }
}
