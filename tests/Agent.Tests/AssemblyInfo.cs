using System.Runtime.Versioning;

// The agent drives a Linux Docker engine and systemd; it runs nowhere else.
[assembly: SupportedOSPlatform("linux")]
