using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.LoadBalancing;

/// <summary>
/// ACM's certificate operations on the kernel's certificate catalog: ImportCertificate (and re-import under the same
/// ARN, which every listener using it serves from its next connection on), DescribeCertificate, ListCertificates and
/// DeleteCertificate, refused while a listener uses the certificate. The private key never leaves through this API;
/// only a load balancer's own replicas get it, over their watch stream.
/// </summary>
internal sealed class CertificateHandler(StateKernel kernel)
{
    public Task<string> ImportAsync(string certificatePem, string privateKeyPem, string chainPem, string? reimportArn)
    {
        if (!string.IsNullOrEmpty(reimportArn))
        {
            Acm.Arn("certificate_arn", reimportArn);
        }

        // Parsed and checked outside the lock (RSA key checks cost milliseconds); only the ARN's existence is decided under it.
        var now = kernel.Now;
        var arn = string.IsNullOrEmpty(reimportArn) ? Acm.ArnPrefix + Guid.NewGuid().ToString("D") : reimportArn;
        var record = CertificateReader.Read(arn, certificatePem, privateKeyPem, chainPem, now, now);
        return kernel.CommitCertificatesAsync((tx, catalog) =>
        {
            if (!string.IsNullOrEmpty(reimportArn))
            {
                var existing = catalog.Get(reimportArn) ?? throw Acm.NotFound("certificate_arn", reimportArn);
                record = record with { CreatedAt = existing.CreatedAt };
            }

            catalog.Put(record);
            tx.Save(record);
            return record.Arn;
        });
    }

    public T Describe<T>(string arn, Func<CertificateRecord, IReadOnlyList<string>, T> view)
    {
        Acm.Arn("certificate_arn", arn);
        lock (kernel.Certificates.Gate)
        {
            var record = kernel.Certificates.Get(arn) ?? throw Acm.NotFound("certificate_arn", arn);
            return view(record, kernel.Certificates.UsersOf(arn));
        }
    }

    public List<T> List<T>(IReadOnlyCollection<string> statuses, Func<CertificateRecord, IReadOnlyList<string>, T> view)
    {
        foreach (var status in statuses)
        {
            if (status is not ("ISSUED" or "EXPIRED" or "INACTIVE"))
            {
                throw Acm.Validation("certificate_statuses", $"'{Elb.Printable(status)}' is not a status of an imported certificate (ISSUED, EXPIRED, INACTIVE).");
            }
        }

        var now = kernel.Now;
        return [.. kernel.Certificates.All()
            .Where(c => statuses.Count == 0 || statuses.Contains(StatusOf(c.Certificate, now)))
            .OrderBy(c => c.Certificate.DomainName, StringComparer.Ordinal).ThenBy(c => c.Certificate.Arn, StringComparer.Ordinal)
            .Select(c => view(c.Certificate, c.UsedBy))];
    }

    public Task DeleteAsync(string arn)
    {
        Acm.Arn("certificate_arn", arn);
        return kernel.CommitCertificatesAsync((tx, catalog) =>
        {
            if (catalog.Get(arn) is null)
            {
                throw Acm.NotFound("certificate_arn", arn);
            }

            if (catalog.UsersOf(arn).Count > 0)
            {
                throw Acm.InUse(arn);
            }

            catalog.Remove(arn);
            tx.DeleteCertificate(arn);
            return 0;
        });
    }

    /// <summary>ACM's status of an imported certificate: ISSUED while valid, EXPIRED after, INACTIVE before it is valid.</summary>
    public static string StatusOf(CertificateRecord certificate, DateTimeOffset now) =>
        now > certificate.NotAfter ? "EXPIRED" : now < certificate.NotBefore ? "INACTIVE" : "ISSUED";
}
