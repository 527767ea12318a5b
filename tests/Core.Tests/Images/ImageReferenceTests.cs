using Berth.Core.Images;

namespace Berth.Core.Tests.Images;

public sealed class ImageReferenceTests
{
    [Theory]
    [InlineData("busybox", "docker.io")]
    [InlineData("busybox:1", "docker.io")]
    [InlineData("library/nginx:1.25", "docker.io")]
    [InlineData("docker.io/library/nginx", "docker.io")]
    [InlineData("127.0.0.1:5000/team/web:1", "127.0.0.1:5000")]
    [InlineData("localhost/app", "localhost")]
    [InlineData("registry.example/team/app@sha256:abc", "registry.example")]
    [InlineData("registry:5000/app", "registry:5000")]
    public void RegistryHost_IsTheFirstComponentOnlyWhenItLooksLikeAHost(string image, string expected) =>
        Assert.Equal(expected, ImageReference.RegistryHost(image));
}
