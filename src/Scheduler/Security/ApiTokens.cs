using System.Security.Cryptography;
using System.Text;
using Berth.Core.IO;
using Berth.Scheduler.Hosting;

namespace Berth.Scheduler.Security;

/// <summary>
/// The admin API token and the join token. Both are created on first start as files in the data dir (mode 0600) and
/// read on later starts, so the CLI and agent installers can pick them up.
/// </summary>
internal sealed class ApiTokens
{
    private readonly byte[] _admin;
    private readonly byte[] _join;

    public ApiTokens(SchedulerDataDirectory layout)
    {
        _admin = Encoding.UTF8.GetBytes(ReadOrCreate(layout.AdminToken, "berth_admin_"));
        _join = Encoding.UTF8.GetBytes(ReadOrCreate(layout.JoinToken, "berth_join_"));
    }

    public bool IsAdmin(string token) => Matches(token, _admin);

    public bool IsJoin(string token) => Matches(token, _join);

    private static bool Matches(string token, byte[] expected) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), expected);

    private static string ReadOrCreate(string path, string prefix)
    {
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length > 0)
            {
                return existing;
            }
        }

        var token = prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        // 0600 from the first byte: a token must never be readable by others, not even for a moment.
        OwnerOnlyFile.WriteAtomic(path, token + "\n");
        return token;
    }
}
