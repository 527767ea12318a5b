using System.Runtime.Versioning;

// Drives the Linux-only agent.
[assembly: SupportedOSPlatform("linux")]
