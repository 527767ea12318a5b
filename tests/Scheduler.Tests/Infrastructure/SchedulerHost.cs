using Berth.TestSupport;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Infrastructure;

/// <summary>
/// The real scheduler (its Program, Kestrel on a dynamic loopback port, a SQLite file in a temp data dir) and real
/// gRPC clients over a socket. Dispose stops the host; a new host on the same <see cref="DataDirectory"/> is a restart.
/// </summary>
internal sealed class SchedulerHost : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;

    private SchedulerHost(WebApplicationFactory<Program> factory, string dataDirectory, Uri address)
    {
        _factory = factory;
        DataDirectory = dataDirectory;
        Address = address;
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 * 1024 * 1024 });
        AdminToken = File.ReadAllText(Path.Combine(dataDirectory, "admin-token")).Trim();
        JoinToken = File.ReadAllText(Path.Combine(dataDirectory, "join-token")).Trim();
        Clusters = new V1.Clusters.ClustersClient(Channel);
        TaskDefinitions = new V1.TaskDefinitions.TaskDefinitionsClient(Channel);
        Instances = new V1.ContainerInstances.ContainerInstancesClient(Channel);
        Tasks = new V1.Tasks.TasksClient(Channel);
        Agents = new V1.AgentService.AgentServiceClient(Channel);
        ServicesApi = new V1.Services.ServicesClient(Channel);
    }

    public string DataDirectory { get; }

    public Uri Address { get; }

    public GrpcChannel Channel { get; }

    public string AdminToken { get; }

    public string JoinToken { get; }

    public V1.Clusters.ClustersClient Clusters { get; }

    public V1.TaskDefinitions.TaskDefinitionsClient TaskDefinitions { get; }

    public V1.ContainerInstances.ContainerInstancesClient Instances { get; }

    public V1.Tasks.TasksClient Tasks { get; }

    public V1.AgentService.AgentServiceClient Agents { get; }

    /// <summary>The Services API (not <c>Services</c>, which is the host's service provider).</summary>
    public V1.Services.ServicesClient ServicesApi { get; }

    /// <summary>Call options with the admin token and a deadline.</summary>
    public CallOptions Admin => new(Bearer(AdminToken), DateTime.UtcNow.AddSeconds(30));

    public static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    public IServiceProvider Services => _factory.Services;

    /// <summary>The statuses the scheduler's handlers ended calls with, as the scheduler decided them.</summary>
    public RefusedCalls Refused => _factory.Services.GetRequiredService<RefusedCalls>();

    /// <summary>
    /// Starts the scheduler; <paramref name="time"/> replaces its clock (a <c>FakeTimeProvider</c> moves it by hand);
    /// <paramref name="services"/> adds or replaces services (a fake host provisioner).
    /// </summary>
    public static async Task<SchedulerHost> StartAsync(string dataDirectory, ITestOutputHelper? output = null, IDictionary<string, string?>? settings = null, TimeProvider? time = null,
        Action<IServiceCollection>? services = null)
    {
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("urls", "http://127.0.0.1:0");
            web.UseSetting("Scheduler:DataDirectory", dataDirectory);
            // Tests run many hosts; fsync per commit only slows them (durability across kill -9 needs no fsync).
            web.UseSetting("Scheduler:FullSync", "false");
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                web.UseSetting(key, value);
            }

            if (time is not null)
            {
                web.ConfigureTestServices(services => services.Replace(ServiceDescriptor.Singleton(time)));
            }

            if (services is not null)
            {
                web.ConfigureTestServices(services);
            }

            web.ConfigureTestServices(services =>
            {
                services.AddSingleton<RefusedCalls>();
                services.Configure<GrpcServiceOptions>(grpc =>
                {
                    // Outermost, so it sees the status the auth interceptor turns the handlers' errors into.
                    grpc.Interceptors.Add<RefusedCallsInterceptor>();
                    var registration = grpc.Interceptors[^1];
                    grpc.Interceptors.RemoveAt(grpc.Interceptors.Count - 1);
                    grpc.Interceptors.Insert(0, registration);
                });
            });

            web.ConfigureLogging(logging =>
            {
                logging.ClearProviders();
                if (output is not null)
                {
                    logging.AddProvider(new TestOutputLoggerProvider(output));
                }

                logging.SetMinimumLevel(LogLevel.Information);
            });
        });
        factory.UseKestrel();
        await Task.Run(factory.StartServer).WithTimeout();
        var addresses = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new SchedulerHost(factory, dataDirectory, new Uri(addresses.First()));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _factory.DisposeAsync();
    }
}

/// <summary>A temp directory, removed by <see cref="Delete"/>.</summary>
internal sealed class TempDirectory
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "berth-scheduler-tests", Guid.NewGuid().ToString("N"));

    public void Delete()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a stopping host; the OS temp cleanup takes it.
        }
    }
}

internal sealed class TestOutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(output, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(ITestOutputHelper output, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                output.WriteLine($"[{logLevel}] {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
            }
            catch (InvalidOperationException)
            {
                // The test already finished.
            }
        }
    }
}
