using System.Text.Json;
using System.Text.Json.Serialization;

namespace Innovaphone.Redundancy;

/// <summary>
/// The connection information myApps publishes as <c>connInfo</c> for the softphone:
/// <c>{"up":..,"standby":..,"cur":..,"pri":..,"sec":..,"phys":..}</c>.
/// </summary>
/// <remarks>
/// <see cref="ToJson"/> always writes all six names, in that order; a PBX that is not known
/// and a <c>phys</c> that is not configured are written as <c>null</c>, so that consumers see one fixed shape.
/// </remarks>
/// <param name="Up"><see langword="true"/> while a connection to a PBX is up.</param>
/// <param name="Standby"><see langword="true"/> while connected to a PBX that acts as standby for the user's PBX.</param>
/// <param name="Cur">The PBX of the current connection; while down, the PBX last connected to (null before the first connection).</param>
/// <param name="Pri">The primary PBX: the one configured by the host.</param>
/// <param name="Sec">The secondary PBX, as determined after the last non-standby login (or loaded from the store); null if none.</param>
/// <param name="Phys">The physical location, only when configured explicitly; otherwise null.</param>
public sealed record ConnInfo(
    [property: JsonPropertyName("up")] bool Up,
    [property: JsonPropertyName("standby")] bool Standby,
    [property: JsonPropertyName("cur")] PbxAddress? Cur,
    [property: JsonPropertyName("pri")] PbxAddress? Pri,
    [property: JsonPropertyName("sec")] PbxAddress? Sec,
    [property: JsonPropertyName("phys")] string? Phys)
{
    /// <summary>Serialises to the compact connInfo JSON object.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ConnInfoJsonContext.Default.ConnInfo);

    /// <summary>Parses a connInfo JSON object as written by <see cref="ToJson"/> or by myApps.</summary>
    /// <exception cref="JsonException">The text is not a connInfo object.</exception>
    public static ConnInfo FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return JsonSerializer.Deserialize(json, ConnInfoJsonContext.Default.ConnInfo)
               ?? throw new JsonException("connInfo must be a JSON object, not null.");
    }

    /// <inheritdoc/>
    public override string ToString() => ToJson();
}

[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(PbxAddressJsonConverter)])]
[JsonSerializable(typeof(ConnInfo))]
internal sealed partial class ConnInfoJsonContext : JsonSerializerContext;
