using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Innovaphone.Redundancy.Hosting;

/// <summary>
/// Starts the manager with the host and stops it on shutdown. The container owns the manager and disposes it
/// afterwards, which also ends whatever a stop cut short by the shutdown timeout left behind.
/// </summary>
internal sealed class RedundancyHostedService : IHostedService
{
    private readonly RedundancyManager _manager;
    private readonly RedundancyServiceOptions _options;
    private readonly ILogger _logger;

    public RedundancyHostedService(RedundancyManager manager, IOptions<RedundancyServiceOptions> options, ILoggerFactory? loggerFactory = null)
    {
        _manager = manager;
        _options = options.Value;
        _logger = loggerFactory?.CreateLogger<RedundancyHostedService>() ?? (ILogger)NullLogger.Instance;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // ToString shows no secret; passing the text (not the object) keeps structured sinks from serialising the options.
        if (_logger.IsEnabled(LogLevel.Debug))
        {
#pragma warning disable CA1873 // Guarded by IsEnabled just above; the analyzer does not see through it.
            HostingLog.Configured(_logger, _options.ToString());
#pragma warning restore CA1873
        }

        return _manager.StartAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _manager.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout ran out. Not an error of the app: disposal finishes the stop, bounded.
            HostingLog.StopCutShort(_logger);
        }
    }
}
