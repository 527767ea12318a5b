using System.CommandLine;
using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.LoadBalancers;

/// <summary>
/// <c>berth certificate import|list|describe|delete</c>: certificates for HTTPS listeners, as ACM's imported
/// certificates (<c>aws acm import-certificate --certificate fileb://... --private-key fileb://...</c>).
/// </summary>
internal static class CertificateCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("certificate", "Certificates for HTTPS listeners (ACM-style imported certificates)");
        command.Add(Import(actions));
        command.Add(List(actions));
        command.Add(Describe(actions));
        command.Add(Delete(actions));
        return command;
    }

    private static Command Import(CommandActions actions)
    {
        var certificate = new Option<FileInfo>("--certificate") { Description = "The certificate, PEM (intermediates may follow it)", Required = true };
        var key = new Option<FileInfo>("--private-key") { Description = "Its private key, PEM, unencrypted (RSA 1024-4096 or ECDSA P-256/P-384/P-521)", Required = true };
        var chain = new Option<FileInfo?>("--certificate-chain") { Description = "The intermediate certificates, PEM" };
        var arn = new Option<string?>("--certificate-arn") { Description = "Re-import over this certificate (rotation: listeners using it serve the new one on their next connections)" };
        var import = new Command("import", "Import a certificate and its private key") { certificate, key, chain, arn };
        actions.Set(import, async (parse, context, ct) =>
        {
            var request = new ImportCertificateRequest
            {
                CertificatePem = await ReadAsync("--certificate", parse.GetValue(certificate)!, ct),
                PrivateKeyPem = await ReadAsync("--private-key", parse.GetValue(key)!, ct),
                CertificateArn = parse.GetValue(arn) ?? "",
            };
            if (parse.GetValue(chain) is { } chainFile)
            {
                request.CertificateChainPem = await ReadAsync("--certificate-chain", chainFile, ct);
            }

            var imported = (await context.Scheduler.LoadBalancing.ImportCertificateAsync(request, cancellationToken: ct)).CertificateArn;
            if (context.Output.IsJson)
            {
                context.Output.Json(new System.Text.Json.Nodes.JsonObject { ["certificateArn"] = imported });
            }
            else
            {
                context.Output.Say(request.CertificateArn.Length > 0 ? $"Re-imported {imported}." : $"Imported {imported}.");
            }

            return ExitCodes.Success;
        });
        return import;
    }

    private static Command List(CommandActions actions)
    {
        var status = new Option<string[]>("--status") { Description = "Only ISSUED, EXPIRED or INACTIVE certificates", AllowMultipleArgumentsPerToken = true };
        var list = new Command("list", "List imported certificates") { status };
        actions.Set(list, async (parse, context, ct) =>
        {
            var request = new ListCertificatesRequest();
            request.CertificateStatuses.AddRange((parse.GetValue(status) ?? []).Select(s => s.ToUpperInvariant()));
            var certificates = (await context.Scheduler.LoadBalancing.ListCertificatesAsync(request, cancellationToken: ct)).Certificates;
            if (context.Output.IsJson)
            {
                context.Output.Json(certificates);
                return ExitCodes.Success;
            }

            context.Output.Table(["DOMAIN", "STATUS", "KEY", "NOT AFTER", "IN USE", "ARN"], certificates.Select(c => (IReadOnlyList<string>)
            [
                c.DomainName,
                c.Status,
                c.KeyAlgorithm,
                Display.Time(c.NotAfter),
                c.InUseBy.Count == 0 ? "no" : $"{c.InUseBy.Count} listener(s)",
                c.CertificateArn,
            ]));
            return ExitCodes.Success;
        });
        return list;
    }

    private static Command Describe(CommandActions actions)
    {
        var arn = new Argument<string>("certificate-arn") { Description = "The certificate's ARN" };
        var describe = new Command("describe", "Show a certificate: names, validity, key, the listeners using it") { arn };
        actions.Set(describe, async (parse, context, ct) =>
        {
            var c = (await context.Scheduler.LoadBalancing.DescribeCertificateAsync(new DescribeCertificateRequest { CertificateArn = parse.GetValue(arn)! }, cancellationToken: ct)).Certificate;
            if (context.Output.IsJson)
            {
                context.Output.Json(c);
                return ExitCodes.Success;
            }

            context.Output.Fields(
            [
                ("ARN", c.CertificateArn),
                ("Domain", c.DomainName),
                ("Names", string.Join(", ", c.SubjectAlternativeNames)),
                ("Status", c.Status),
                ("Type", c.Type),
                ("Subject", c.Subject),
                ("Issuer", c.Issuer),
                ("Serial", c.Serial),
                ("Not before", Display.Time(c.NotBefore)),
                ("Not after", Display.Time(c.NotAfter)),
                ("Key", c.KeyAlgorithm),
                ("Signature", c.SignatureAlgorithm),
                ("Imported", Display.Time(c.ImportedAt)),
                ("In use by", c.InUseBy.Count == 0 ? "-" : string.Join(", ", c.InUseBy)),
            ]);
            return ExitCodes.Success;
        });
        return describe;
    }

    private static Command Delete(CommandActions actions)
    {
        var arn = new Argument<string>("certificate-arn") { Description = "The certificate's ARN" };
        var delete = new Command("delete", "Delete a certificate no listener uses") { arn };
        actions.Set(delete, async (parse, context, ct) =>
        {
            await context.Scheduler.LoadBalancing.DeleteCertificateAsync(new DeleteCertificateRequest { CertificateArn = parse.GetValue(arn)! }, cancellationToken: ct);
            context.Output.Say($"Deleted {parse.GetValue(arn)}.");
            return ExitCodes.Success;
        });
        return delete;
    }

    private static async Task<string> ReadAsync(string option, FileInfo file, CancellationToken ct)
    {
        try
        {
            return await File.ReadAllTextAsync(file.FullName, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{option} {file.FullName}: {e.Message}", ExitCodes.Usage);
        }
    }
}
