using Berth.Registry.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Berth.Registry.Outbox;

internal static class OutboxServiceCollectionExtensions
{
    /// <summary>
    /// The change outbox shared by notifications and replication: the journal the metadata store writes through, the
    /// signal that wakes consumers, the queue they read. Each consumer adds its <see cref="IOutboxInterest"/> and
    /// <see cref="IOutboxConsumer"/>; with none, the journal asks nobody and records nothing.
    /// </summary>
    public static WebApplicationBuilder AddChangeOutbox(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton<ChangeSignal>();
        services.TryAddSingleton<ChangeOutbox>();
        services.TryAddSingleton<OutboxJournal>();
        services.TryAddSingleton<IChangeJournal>(provider => provider.GetRequiredService<OutboxJournal>());
        return builder;
    }
}
