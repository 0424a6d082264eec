using System.Net.Security;
using System.Security.Cryptography;

namespace Innovaphone.Redundancy.Hosting;

/// <summary>Trusts PBX certificates by SHA-256 thumbprint (<see cref="RedundancyServiceOptions.TrustedCertificateThumbprints"/>).</summary>
internal static class CertificateThumbprints
{
    /// <summary>The thumbprint as 64 upper-case hex digits, or <see langword="null"/> when it is not a SHA-256 thumbprint.</summary>
    public static string? Normalize(string? thumbprint)
    {
        if (thumbprint is null)
        {
            return null;
        }

        var hex = thumbprint.Replace(":", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal).Trim();
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit) ? hex.ToUpperInvariant() : null;
    }

    /// <summary>
    /// Accepts what the platform accepts, and besides a certificate whose SHA-256 thumbprint is listed (a pin: the
    /// host name and chain are then not checked, as for the self-signed certificate a PBX ships with).
    /// Returns <see langword="null"/> (the platform's validation alone) when nothing is listed.
    /// </summary>
    public static RemoteCertificateValidationCallback? CreateValidator(IEnumerable<string> thumbprints)
    {
        var trusted = thumbprints.Select(Normalize).OfType<string>().ToHashSet(StringComparer.Ordinal);
        if (trusted.Count == 0)
        {
            return null;
        }

        return (_, certificate, _, errors) =>
            errors == SslPolicyErrors.None
            || (certificate is not null && trusted.Contains(Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256))));
    }
}
