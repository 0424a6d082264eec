using System.Text.Json;
using System.Text.Json.Serialization;

namespace Innovaphone.Redundancy;

/// <summary>Writes a <see cref="PbxAddress"/> as its <c>host[:port]/module</c> string.</summary>
internal sealed class PbxAddressJsonConverter : JsonConverter<PbxAddress>
{
    /// <inheritdoc/>
    public override PbxAddress? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"A PBX address must be a JSON string, not {reader.TokenType}.");
        }

        var text = reader.GetString()!;
        return PbxAddress.TryParse(text, out var address)
            ? address
            : throw new JsonException($"'{text}' is not a PBX address of the form host[:port]/module.");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, PbxAddress value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStringValue(value.ToString());
    }
}
