namespace Innovaphone.Redundancy.TestSupport;

/// <summary>
/// Lowercase hex, as the protocol writes digests and nonces: the fuzzers' own oracle (not the library's
/// MyAppsCrypto). Convert.ToHexStringLower would do, but it exists on net9.0 and later only, and the tests also run
/// on net8.0.
/// </summary>
internal static class LowerHex
{
    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
}
