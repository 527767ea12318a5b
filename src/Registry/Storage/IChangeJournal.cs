namespace Berth.Registry.Storage;

/// <summary>What happened to a repository's content, as a notification or replication consumer sees it.</summary>
internal enum ChangeAction
{
    Push,
    Delete,
    Pull,
}

/// <summary>
/// One change the metadata store is committing: a manifest pushed (once per tag it set, or once untagged), a manifest,
/// tag or blob deleted. <paramref name="Digest"/> is null for a tag delete (the tag is what went).
/// </summary>
internal readonly record struct RegistryChange(ChangeAction Action, string Repository, string? Digest, string? MediaType, long Size, string? Tag);

/// <summary>A row the metadata store writes in the change's own transaction (the durable outbox); <paramref name="Payload"/> is UTF-8 text.</summary>
internal sealed record JournalEntry(string Action, byte[] Payload);

/// <summary>
/// The seam through which the metadata store records changes for consumers outside the request (notifications):
/// <see cref="Describe"/> runs inside the write transaction and says what row to add, so an acknowledged change and
/// its event commit or roll back together; <see cref="Committed"/> runs after the commit, to wake the consumer.
/// When nobody listens, <see cref="Describe"/> returns null and a write costs nothing more.
/// </summary>
internal interface IChangeJournal
{
    JournalEntry? Describe(in RegistryChange change);

    void Committed();
}

/// <summary>No consumer: nothing is recorded.</summary>
internal sealed class NoChangeJournal : IChangeJournal
{
    public JournalEntry? Describe(in RegistryChange change) => null;

    public void Committed()
    {
    }
}
