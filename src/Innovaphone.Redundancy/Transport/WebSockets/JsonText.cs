using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Unicode;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// Whether the strings and property names of JSON text decode. <see cref="Utf8JsonReader"/> accepts a string with
/// invalid UTF-8 or an escaped lone surrogate (<c>"\ud800"</c>) as well-formed JSON; only decoding it throws
/// (<see cref="InvalidOperationException"/>), in GetString, TryGetProperty, ValueEquals, EnumerateObject and the like,
/// wherever that happens later. A frame is therefore checked once, as the parser reads it, so that no code after the
/// parser can meet such text.
/// </summary>
internal static class JsonText
{
    // Unescaping never lengthens a string: escaped strings up to this many bytes are unescaped on the stack.
    private const int StackBytes = 256;

    /// <summary>
    /// Whether the reader's current string or property name is valid UTF-8 and its escapes form valid UTF-16.
    /// The reader must read from one span (no <see cref="ReadOnlySequence{T}"/>).
    /// </summary>
    public static bool IsDecodable(ref Utf8JsonReader reader)
    {
        Debug.Assert(!reader.HasValueSequence, "the frame parsers read from one span");
        var raw = reader.ValueSpan;
        if (!reader.ValueIsEscaped)
        {
            return Utf8.IsValid(raw);
        }

        // CopyString unescapes and checks both the escapes (surrogate pairs) and the UTF-8 between them. Escaped text
        // is rare in myApps frames (non-ASCII names), and an exception only for a malformed frame.
        byte[]? rented = null;
        var buffer = raw.Length <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(raw.Length));
        try
        {
            reader.CopyString(buffer);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Skips the current value as <see cref="Utf8JsonReader.Skip"/> does (an object or array to its end token; a scalar
    /// stays where it is) and checks every string and property name in it with <see cref="IsDecodable(ref Utf8JsonReader)"/>.
    /// </summary>
    /// <returns><see langword="false"/> at the first that does not decode (the reader is then left inside the value).</returns>
    /// <exception cref="JsonException">The JSON is malformed.</exception>
    public static bool TrySkip(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return reader.TokenType != JsonTokenType.String || IsDecodable(ref reader);
        }

        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && !IsDecodable(ref reader))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether every string and property name of the JSON value in <paramref name="utf8"/> decodes.</summary>
    /// <exception cref="JsonException">The JSON is malformed.</exception>
    public static bool IsDecodable(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8);
        return !reader.Read() || TrySkip(ref reader);
    }
}
