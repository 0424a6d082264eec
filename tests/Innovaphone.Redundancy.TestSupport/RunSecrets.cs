using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.TestSupport;

/// <summary>
/// The secret check over the whole test run. Every harness logs through <see cref="LoggerProvider"/> as well as its
/// own collector and registers the secrets its run used (passwords, the session ids and passwords the simulator
/// issued, the digests the emulator saw on the wire); every exception thrown anywhere in the process is seen through
/// <see cref="AppDomain.FirstChanceException"/>. When the run ends, <see cref="RunSecretsFixture"/> searches every
/// captured text for every registered secret and fails the run if it finds one.
/// </summary>
internal static class RunSecrets
{
    // Shorter strings would match ordinary words by accident (one transport test's password is "secret"; its own
    // test class checks it against its own records).
    private const int MinimumSecretLength = 8;
    private const int MaximumTexts = 1_000_000;

    private static readonly ConcurrentDictionary<string, byte> Secrets = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string> Texts = new(StringComparer.Ordinal);
    private static int _started;
    private static long _records;
    private static long _exceptions;

    /// <summary>A provider that captures the message and exception of every record, at every level.</summary>
    public static ILoggerProvider LoggerProvider { get; } = new CaptureProvider();

    public static long LogRecordsSeen => Interlocked.Read(ref _records);

    public static long ExceptionsSeen => Interlocked.Read(ref _exceptions);

    public static int SecretCount => Secrets.Count;

    public static int DistinctTextCount => Texts.Count;

    /// <summary>Starts watching exceptions (idempotent).</summary>
    public static void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            AppDomain.CurrentDomain.FirstChanceException += OnFirstChance;
        }
    }

    public static void Stop() => AppDomain.CurrentDomain.FirstChanceException -= OnFirstChance;

    public static void AddSecrets(IEnumerable<string?> secrets)
    {
        foreach (var secret in secrets)
        {
            if (secret is { Length: >= MinimumSecretLength })
            {
                Secrets.TryAdd(secret, 0);
            }
        }
    }

    public static void Capture(string origin, string? text)
    {
        if (!string.IsNullOrEmpty(text) && Texts.Count < MaximumTexts)
        {
            Texts.TryAdd(text, origin);
        }
    }

    /// <summary>Every captured text that contains a registered secret, described without the secret.</summary>
    public static IReadOnlyList<string> FindLeaks() => FindLeaks(Texts, Secrets.Keys);

    /// <summary>The texts (text to origin) that contain one of <paramref name="secrets"/>, described without the secret.</summary>
    public static IReadOnlyList<string> FindLeaks(IReadOnlyDictionary<string, string> texts, IEnumerable<string> secrets)
    {
        var list = secrets.ToList();
        var leaks = new List<string>();
        foreach (var (text, origin) in texts)
        {
            var index = list.FindIndex(s => text.Contains(s, StringComparison.Ordinal));
            if (index >= 0)
            {
                leaks.Add($"{origin}: a secret of {list[index].Length} characters in a text of {text.Length}");
            }
        }

        return leaks;
    }

    private static void OnFirstChance(object? sender, FirstChanceExceptionEventArgs e)
    {
        Interlocked.Increment(ref _exceptions);
        Capture($"exception {e.Exception.GetType().Name}", e.Exception.Message);
    }

    private sealed class CaptureProvider : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CaptureLogger(categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class CaptureLogger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            Interlocked.Increment(ref _records);
            var origin = $"log {category} event {eventId.Id}";
            Capture(origin, formatter(state, exception));
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                foreach (var (_, value) in values)
                {
                    Capture(origin, value?.ToString());
                }
            }

            Capture(origin, exception?.ToString());
        }
    }
}
