using Berth.Registry.Access;
using Berth.Registry.Auth.Accounts;
using Berth.Registry.Auth.Admin;
using Berth.Registry.Auth.Credentials;
using Berth.Registry.Auth.Throttling;
using Berth.Registry.Auth.Tokens;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Auth;

internal static class AuthServiceCollectionExtensions
{
    private const string SuppressAutoDefaultSchemeSwitch = "Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme";

    /// <summary>Docker token authentication: accounts, the token endpoint, bearer validation and the admin API.</summary>
    public static WebApplicationBuilder AddRegistryAuth(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        // Same connection settings as the registry's metadata; its own file, so accounts migrate on their own.
        services.AddSingleton(provider => new AuthDatabase(provider.GetRequiredService<RegistryDataDirectory>().AuthDatabase));
        services.AddSingleton(provider => new SigningKeyStore(provider.GetRequiredService<RegistryDataDirectory>().SigningKey));
        services.AddSingleton<TokenIssuer>();
        services.AddSingleton<RegistryTokenHandler>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<PublicNamespaceCache>();
        services.AddSingleton<RegistryAuthorizer>();
        services.Replace(ServiceDescriptor.Singleton<IRegistryAccessPolicy>(provider => provider.GetRequiredService<RegistryAuthorizer>()));
        services.AddSingleton<IPasswordHasher<UserAccount>, PasswordHasher<UserAccount>>();
        services.AddScoped<AccountStore>();
        services.AddScoped<CredentialVerifier>();
        services.AddHostedService<AuthDatabaseInitializer>();
        // The admin API's bodies are the shared contract's records, serialized by its generated context.
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, RegistryAdmin.RegistryAdminJsonContext.Default));

        // With a single scheme registered, ASP.NET Core makes it the default, and the authentication middleware that
        // WebApplication adds on its own then runs JwtBearer (parse + ES256 signature check) on every request that
        // carries a token, before the registry sees it, and even with auth off. The registry authenticates itself,
        // once per distinct token (RegistryAuthorizer's cache): no default scheme, so the middleware does nothing.
        AppContext.SetSwitch(SuppressAutoDefaultSchemeSwitch, true);
        services.AddAuthentication().AddJwtBearer();

        // AddAuthentication brings Data Protection (for cookie schemes), whose hosted service loads or creates an XML
        // key ring under ~/.aspnet at start: state outside the data dir and ~4 MiB of XML and crypto code in RSS, for
        // nothing: bearer tokens are signed with the registry's own key.
        var keyRingLoader = services.FirstOrDefault(descriptor => descriptor.ServiceType == typeof(IHostedService)
            && descriptor.ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService");
        if (keyRingLoader is not null)
        {
            services.Remove(keyRingLoader);
        }
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<SigningKeyStore, IOptions<AuthOptions>, TokenIssuer, RegistryTokenHandler>((jwt, keys, auth, issuer, handler) =>
            {
                jwt.MapInboundClaims = false;
                jwt.TokenHandlers.Clear();
                jwt.TokenHandlers.Add(handler);
                jwt.TokenValidationParameters = TokenValidation.Parameters(keys, auth.Value, issuer);
            });
        return builder;
    }

    public static IEndpointRouteBuilder MapRegistryAuth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapTokenEndpoint();
        endpoints.MapAdminApi();
        return endpoints;
    }
}
