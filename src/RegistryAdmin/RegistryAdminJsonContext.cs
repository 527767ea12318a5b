using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.RegistryAdmin;

/// <summary>
/// The admin API's JSON, generated at compile time (camelCase names, web defaults): no reflection on either side,
/// so the registry serves it without JIT-compiling serializers and a renamed member fails the build, not a call.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(User))]
[JsonSerializable(typeof(List<User>))]
[JsonSerializable(typeof(CreateUserRequest))]
[JsonSerializable(typeof(SetPasswordRequest))]
[JsonSerializable(typeof(Robot))]
[JsonSerializable(typeof(List<Robot>))]
[JsonSerializable(typeof(CreateRobotRequest))]
[JsonSerializable(typeof(RobotSecret))]
[JsonSerializable(typeof(PrincipalGrant))]
[JsonSerializable(typeof(List<PrincipalGrant>))]
[JsonSerializable(typeof(PublicNamespaceRequest))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(LoginPassword))]
[JsonSerializable(typeof(RegistryErrorResponse))]
[JsonSerializable(typeof(List<NotificationEndpointStatus>))]
public sealed partial class RegistryAdminJsonContext : JsonSerializerContext;
