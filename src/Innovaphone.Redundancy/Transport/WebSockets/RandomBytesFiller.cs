namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>Fills <paramref name="destination"/> with cryptographically strong random bytes (used for login nonces).</summary>
/// <param name="destination">The buffer to fill completely.</param>
internal delegate void RandomBytesFiller(Span<byte> destination);
