
namespace Berth.LoadBalancer.Hosting;

/// <summary>Builds the balancer application; <c>Program</c> runs it, in-process tests host it with a fake clock.</summary>
internal static class BalancerApplication
{
    public static WebApplication Build(string[] args, Action<IServiceCollection>? overrides = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        // https:// listeners get their certificates from Kestrel's endpoint configuration, which the slim builder
        // leaves out.
        builder.WebHost.UseKestrelHttpsConfiguration();
        // `--scheduler-url URL --token-file FILE --data-dir DIR` land in the Balancer section.
        builder.Configuration.AddCommandLine(args, BalancerOptions.SwitchMappings);
        overrides?.Invoke(builder.Services);
        builder.AddLoadBalancerServices();

        var app = builder.Build();
        app.MapLoadBalancer();
        return app;
    }
}
