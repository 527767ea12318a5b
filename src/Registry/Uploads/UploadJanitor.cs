using Microsoft.Extensions.Options;

namespace Berth.Registry.Uploads;

/// <summary>Removes abandoned uploads (clients that never finished nor cancelled) so their bytes do not pile up.</summary>
internal sealed partial class UploadJanitor(UploadManager uploads, IOptions<RegistryOptions> options, TimeProvider time, ILogger<UploadJanitor> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.UploadCleanupInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var expired = await uploads.ExpireAsync(settings.UploadSessionTimeout, stoppingToken);
            if (expired > 0)
            {
                LogExpired(logger, expired);
            }
        }
    }
}
