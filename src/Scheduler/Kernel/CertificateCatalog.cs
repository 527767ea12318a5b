namespace Berth.Scheduler.Kernel;

/// <summary>
/// Imported certificates (account-wide, as in ACM) and which listeners use each. Its own lock, taken last: a listener's
/// commit claims its certificates while holding its cluster's lock, and nothing holding this lock takes another. The
/// use index lives here rather than being computed from the clusters so that DeleteCertificate's "in use" check and a
/// listener's claim are decided under one lock: a certificate is never deleted while a listener is being given it.
/// </summary>
internal sealed class CertificateCatalog
{
    private readonly Dictionary<string, CertificateRecord> _byArn = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _claims = new(StringComparer.Ordinal);

    internal Lock Gate { get; } = new();

    /// <summary>The certificate with this ARN, or null.</summary>
    public CertificateRecord? Find(string arn)
    {
        lock (Gate)
        {
            return _byArn.GetValueOrDefault(arn);
        }
    }

    /// <summary>Every certificate with the listeners using it, read under the lock.</summary>
    public List<(CertificateRecord Certificate, List<string> UsedBy)> All()
    {
        lock (Gate)
        {
            return [.. _byArn.Values.Select(c => (c, UsersOf(c.Arn)))];
        }
    }

    /// <summary>The listeners using a certificate, in ARN order. Under the lock.</summary>
    internal List<string> UsersOf(string arn) => _users.TryGetValue(arn, out var users) ? [.. users.Order(StringComparer.Ordinal)] : [];

    /// <summary>
    /// Gives a listener exactly these certificates (replacing what it had): the first one that does not exist is
    /// returned and nothing changes; null when the claim is made. An empty list releases the listener's claims.
    /// </summary>
    public string? Claim(string listenerArn, IReadOnlyCollection<string> certificates)
    {
        lock (Gate)
        {
            foreach (var arn in certificates)
            {
                if (!_byArn.ContainsKey(arn))
                {
                    return arn;
                }
            }

            SetClaims(listenerArn, certificates);
            return null;
        }
    }

    /// <summary>Records a listener's certificates as the load found them (a missing one is still recorded as used).</summary>
    internal void ClaimLoaded(string listenerArn, IReadOnlyCollection<string> certificates)
    {
        lock (Gate)
        {
            SetClaims(listenerArn, certificates);
        }
    }

    private void SetClaims(string listenerArn, IReadOnlyCollection<string> certificates)
    {
        if (_claims.Remove(listenerArn, out var previous))
        {
            foreach (var arn in previous)
            {
                if (_users.TryGetValue(arn, out var users) && users.Remove(listenerArn) && users.Count == 0)
                {
                    _users.Remove(arn);
                }
            }
        }

        if (certificates.Count == 0)
        {
            return;
        }

        _claims[listenerArn] = [.. certificates];
        foreach (var arn in certificates)
        {
            if (!_users.TryGetValue(arn, out var users))
            {
                _users[arn] = users = new HashSet<string>(StringComparer.Ordinal);
            }

            users.Add(listenerArn);
        }
    }

    /// <summary>Adds or replaces a certificate. Under the lock (a certificate transaction, or the load).</summary>
    internal void Put(CertificateRecord record) => _byArn[record.Arn] = record;

    /// <summary>Removes a certificate. Under the lock (a certificate transaction).</summary>
    internal void Remove(string arn) => _byArn.Remove(arn);

    /// <summary>The certificate with this ARN. Under the lock.</summary>
    internal CertificateRecord? Get(string arn) => _byArn.GetValueOrDefault(arn);
}
