namespace Berth.Bench.RegistryLoad;

/// <summary>One operation of a workload: given its index, does it and returns the blob bytes it moved.</summary>
internal delegate Task<long> Operation(int index, byte[] buffer, CancellationToken cancellationToken);

/// <summary>A named workload: <see cref="PrepareAsync"/> seeds what it needs (not measured) and returns its operation.</summary>
internal sealed record Workload(string Name, string Unit, string Description, Func<RegistryOperations, string, CancellationToken, Task<Operation>> PrepareAsync)
{
    private static readonly int[] s_sizesMiB = [1, 10, 100];

    public static IReadOnlyList<Workload> All { get; } = Build();

    public static Workload Find(string name) =>
        All.FirstOrDefault(w => w.Name == name) ?? throw new ArgumentException($"unknown workload {name}; --list shows them");

    private static List<Workload> Build()
    {
        var all = new List<Workload>
        {
            new("ping", "req", "GET /v2/", (ops, _, _) => Task.FromResult<Operation>(async (_, _, ct) =>
            {
                await ops.PingAsync(ct);
                return 0;
            })),
            new("head-blob", "req", "HEAD of a 1 MiB blob", async (ops, prefix, ct) =>
            {
                var (repository, _, layer) = await SeedAsync(ops, prefix, "small", 1, ct);
                return async (_, _, token) =>
                {
                    await ops.HeadBlobAsync(repository, layer.Digest, layer.Length, token);
                    return 0;
                };
            }),
            new("get-manifest", "req", "GET of a manifest by tag", async (ops, prefix, ct) =>
            {
                var (repository, tag, _) = await SeedAsync(ops, prefix, "small", 1, ct);
                return async (_, _, token) =>
                {
                    await ops.GetManifestAsync(repository, tag, token);
                    return 0;
                };
            }),
            new("catalog", "req", "GET /v2/_catalog?n=100", (ops, _, _) => Task.FromResult<Operation>(async (_, _, ct) =>
            {
                await ops.CatalogAsync(ct);
                return 0;
            })),
            new("get-manifest-spread", "req", "GET by digest of a random manifest of the populated large registry (--scale; bench/registry-scale.sh)", (ops, _, _) =>
                Task.FromResult<Operation>(async (_, _, ct) =>
                {
                    var (repositories, perRepository) = ops.Scale;
                    var i = Random.Shared.NextInt64((long)repositories * perRepository);
                    var (r, m) = ((int)(i / perRepository), (int)(i % perRepository));
                    var digest = Berth.Bench.RegistryScale.ScaleImages.Digest(Berth.Bench.RegistryScale.ScaleImages.Manifest(r, m));
                    var body = await ops.GetManifestAsync(Berth.Bench.RegistryScale.ScaleImages.Repository(r), digest, ct);
                    return Berth.Bench.RegistryScale.ScaleImages.Digest(body) == digest ? 0 : throw new InvalidOperationException($"GET {digest} answered other bytes");
                })),
        };

        foreach (var mode in Enum.GetValues<PushMode>())
        {
            foreach (var size in s_sizesMiB)
            {
                var name = $"push-{mode.ToString().ToLowerInvariant()}-{size}m";
                all.Add(new(name, "img", $"push of a {size} MiB image ({mode} layer upload, config, manifest)", (ops, prefix, _) =>
                {
                    var source = new BlobSource(size << 20);
                    var repository = $"{prefix}/{name}";
                    return Task.FromResult<Operation>((i, _, ct) => ops.PushImageAsync(repository, $"t{i}", source.Next(), mode, ct));
                }));
            }
        }

        foreach (var size in s_sizesMiB)
        {
            all.Add(new($"pull-{size}m", "img", $"pull of a {size} MiB image (manifest by tag, config, layer)", async (ops, prefix, ct) =>
            {
                var (repository, tag, _) = await SeedAsync(ops, prefix, $"pull-{size}m", size, ct);
                return (_, buffer, token) => ops.PullImageAsync(repository, tag, buffer, token);
            }));
        }

        all.Add(new("mixed", "img", "1 MiB images: 4 pulls to 1 streamed push", async (ops, prefix, ct) =>
        {
            var (repository, tag, _) = await SeedAsync(ops, prefix, "mixed", 1, ct);
            var source = new BlobSource(1 << 20);
            return (i, buffer, token) => i % 5 == 4
                ? ops.PushImageAsync(repository, $"t{i}", source.Next(), PushMode.Streamed, token)
                : ops.PullImageAsync(repository, tag, buffer, token);
        }));
        return all;
    }

    private static async Task<(string Repository, string Tag, Blob Layer)> SeedAsync(
        RegistryOperations ops, string prefix, string name, int sizeMiB, CancellationToken cancellationToken)
    {
        var repository = $"{prefix}/{name}";
        var layer = new BlobSource(sizeMiB << 20).Next();
        await ops.PushImageAsync(repository, "seed", layer, PushMode.Monolithic, cancellationToken);
        return (repository, "seed", layer);
    }
}
