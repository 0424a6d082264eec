using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.Benchmarks;

/// <summary>
/// The login frame parser (<see cref="MyAppsFrame.TryParse"/>), which every frame of a login passes through, on a
/// LoginResult as innovaphone sends one (user, session and topology in <c>info</c>, one escaped name) and an
/// Authenticate; the baseline is a bare <see cref="Utf8JsonReader"/> walk of the same LoginResult, the floor any parser
/// of it pays.
/// </summary>
[MemoryDiagnoser]
public class FrameParserBenchmarks
{
    private static readonly byte[] LoginResult =
        """
        {"mt":"LoginResult","info":{"user":{"guid":"5d1e3b3c2f1a4b8e9c7d6e5f4a3b2c1d","sip":"alice","dn":"J\u00fcrgen M\u00fcller","num":"100","domain":"example.com","emails":["alice@example.com"]},"session":{"usr":"8f2c41d09ab3e6","pwd":"0c9e71a5b24d8f3e6a"},"alt":"standby.example.com/PBX0","master":"master.example.com/PBX0","standby":false},"digest":"3f6c1b2e9d8a7f605142332415061728394a5b6c7d8e9fa0b1c2d3e4f5061728"}
        """u8.ToArray();

    private static readonly byte[] Authenticate =
        """{"mt":"Authenticate","type":"user","method":"digest","domain":"example.com","challenge":"9b6f2a41c3d8e7f0"}"""u8.ToArray();

    [Benchmark(Baseline = true, Description = "Utf8JsonReader walk (LoginResult)")]
    public int ReaderWalk()
    {
        var reader = new Utf8JsonReader(LoginResult);
        var tokens = 0;
        while (reader.Read())
        {
            tokens++;
        }

        return tokens;
    }

    [Benchmark(Description = "MyAppsFrame.TryParse (LoginResult)")]
    public bool TryParseLoginResult() => MyAppsFrame.TryParse(LoginResult, out _, out _);

    [Benchmark(Description = "MyAppsFrame.TryParse (Authenticate)")]
    public bool TryParseAuthenticate() => MyAppsFrame.TryParse(Authenticate, out _, out _);
}
