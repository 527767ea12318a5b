using Berth.Registry.Storage.Sqlite;

namespace Berth.Registry.PullThrough;

/// <summary>The <c>PullThroughCacheRules</c> table in plain SQL, on the metadata store's connections.</summary>
internal sealed class PullThroughStore(SqliteMetadataStore store, TimeProvider time)
{
    public Task<IReadOnlyList<PullThroughRule>> LoadAsync() =>
        Task.FromResult<IReadOnlyList<PullThroughRule>>(store.Read(reader =>
        {
            var rules = new List<PullThroughRule>();
            using var command = reader.Connection.Command("""
                SELECT "Prefix", "UpstreamRegistryUrl", "Username", "Password", "CreatedAt", "UpdatedAt" FROM "PullThroughCacheRules" ORDER BY "Prefix";
                """);
            using var rows = command.ExecuteReader();
            while (rows.Read())
            {
                rules.Add(new PullThroughRule(
                    rows.GetString(0),
                    new Uri(rows.GetString(1)),
                    rows.IsDBNull(2) ? null : rows.GetString(2),
                    rows.IsDBNull(3) ? null : rows.GetString(3),
                    DateTime.SpecifyKind(rows.GetDateTime(4), DateTimeKind.Utc),
                    DateTime.SpecifyKind(rows.GetDateTime(5), DateTimeKind.Utc)));
            }

            return rules;
        }));

    /// <summary>Adds the rule; false when one with that prefix exists.</summary>
    public Task<bool> CreateAsync(PullThroughRule rule, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = connection.Command("""
                    INSERT INTO "PullThroughCacheRules" ("Prefix", "UpstreamRegistryUrl", "Username", "Password", "CreatedAt", "UpdatedAt")
                    VALUES ($prefix, $url, $username, $password, $now, $now) ON CONFLICT ("Prefix") DO NOTHING;
                    """);
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$prefix", rule.Prefix);
                command.Parameters.AddWithValue("$url", rule.UpstreamUrl.ToString());
                command.Parameters.AddWithValue("$username", (object?)rule.Username ?? DBNull.Value);
                command.Parameters.AddWithValue("$password", (object?)rule.Password ?? DBNull.Value);
                command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
                return await command.ExecuteNonQueryAsync(CancellationToken.None) == 1;
            },
            cancellationToken);

    public Task<bool> DeleteAsync(string prefix, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = connection.Command("""DELETE FROM "PullThroughCacheRules" WHERE "Prefix" = $prefix;""");
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$prefix", prefix);
                return await command.ExecuteNonQueryAsync(CancellationToken.None) == 1;
            },
            cancellationToken);

    /// <summary>
    /// Run under the registry's write lock after a fetched blob was linked into a cache repository: the references of
    /// the repository's manifests that name it (the manifests were stored before their blobs were fetched, so they
    /// could not reference them then, and the garbage collector keeps only referenced blobs). A manifest names a blob
    /// when its JSON holds the digest as a string; nothing else in a manifest looks like <c>"sha256:&lt;64 hex&gt;"</c>
    /// by chance, and a reference too many only keeps a blob longer.
    /// </summary>
    public Task<int> ReferenceFetchedBlobAsync(string repository, string digest, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = connection.Command("""
                    INSERT INTO "ManifestBlobs" ("ManifestId", "Digest")
                    SELECT m."Id", $digest FROM "Manifests" m JOIN "Repositories" r ON r."Id" = m."RepositoryId"
                    WHERE r."Name" = $repository AND instr(m."Content", $needle) > 0
                      AND EXISTS (SELECT 1 FROM "Blobs" b WHERE b."Digest" = $digest)
                    ON CONFLICT DO NOTHING;
                    """);
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$repository", repository);
                command.Parameters.AddWithValue("$digest", digest);
                command.Parameters.AddWithValue("$needle", System.Text.Encoding.ASCII.GetBytes($"\"{digest}\""));
                return await command.ExecuteNonQueryAsync(CancellationToken.None);
            },
            cancellationToken);
}
