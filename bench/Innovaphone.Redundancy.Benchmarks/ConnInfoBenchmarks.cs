using System.Text.Json;
using BenchmarkDotNet.Attributes;

namespace Innovaphone.Redundancy.Benchmarks;

/// <summary>connInfo serialisation: <see cref="ConnInfo.ToJson"/> (source-generated) against reflection-based System.Text.Json.</summary>
[MemoryDiagnoser]
public class ConnInfoBenchmarks
{
    private static readonly JsonSerializerOptions Reflection = new() { Converters = { new PbxAddressJsonConverter() } };

    private readonly ConnInfo _info = new(
        Up: true,
        Standby: false,
        Cur: PbxAddress.Parse("slave1.example.com/PBX0"),
        Pri: PbxAddress.Parse("master.example.com/PBX0"),
        Sec: PbxAddress.Parse("slave1.example.com/PBX0"),
        Phys: null);

    [Benchmark(Baseline = true, Description = "JsonSerializer (reflection)")]
    public string ReflectionJson() => JsonSerializer.Serialize(_info, Reflection);

    [Benchmark(Description = "ConnInfo.ToJson")]
    public string ToJson() => _info.ToJson();
}
