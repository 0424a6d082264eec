using System.Diagnostics;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;

namespace Innovaphone.Redundancy.FieldCheck;

/// <summary>
/// One run of one case: a fresh emulator (fresh ports, no state left from the run before), at most one Monitor, a hard
/// deadline for every wait, and one result per figure of the case (a figure the run did not reach stays a timeout).
/// </summary>
internal sealed class CaseRun
{
    public const string User = "fieldcheck-user";
    public const string Password = "field-Pa55";

    private readonly Settings _settings;
    private readonly string _logPrefix;
    private readonly Dictionary<Figure, double?> _results = [];

    public CaseRun(Settings settings, PbxEmulator emulator, string logPrefix, TimeSpan timeout)
    {
        _settings = settings;
        _logPrefix = logPrefix;
        Emulator = emulator;
        Deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
    }

    public PbxEmulator Emulator { get; }

    public SimulatedPbxSystem Sim => Emulator.System;

    /// <summary>The <see cref="Stopwatch"/> timestamp after which every wait gives up.</summary>
    public long Deadline { get; }

    public MonitorProcess? Monitor { get; private set; }

    public IReadOnlyDictionary<Figure, double?> Results => _results;

    /// <summary>Starts the Monitor CLI at <paramref name="pbx"/> (only one per run).</summary>
    public MonitorProcess StartMonitor(SimulatedPbx pbx)
    {
        if (Monitor is not null)
        {
            throw new InvalidOperationException("One Monitor per run.");
        }

        // Over TLS the emulator's self-signed certificate is pinned by its thumbprint, as a user does with a PBX's own.
        var thumbprint = Emulator.Certificate is { } certificate
            ? Convert.ToHexString(certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256))
            : null;
        Monitor = MonitorProcess.Start(_settings.MonitorCommand, pbx.Address, User, Password, _logPrefix, thumbprint, _settings.MonitorEnvironment);
        return Monitor;
    }

    /// <summary>Waits for a matching connInfo line after index <paramref name="from"/> - 1; null at the deadline.</summary>
    public Task<Observation?> WaitAsync(Func<ConnInfo, bool> match, int from = 0) =>
        (Monitor ?? throw new InvalidOperationException("No Monitor started.")).WaitForAsync(match, from, Deadline);

    /// <summary>Records <paramref name="figure"/> as the time from <paramref name="start"/> to the line <paramref name="end"/>.</summary>
    /// <returns>The milliseconds recorded.</returns>
    public double Record(Figure figure, long start, Observation end)
    {
        var ms = Stopwatch.GetElapsedTime(start, end.Timestamp).TotalMilliseconds;
        _results[figure] = ms;
        return ms;
    }

    /// <summary>Records a count or another plain number (a ratio).</summary>
    public void RecordCount(Figure figure, double count) => _results[figure] = count;

    /// <summary>Up at <paramref name="pbx"/> as the user's PBX (not as standby).</summary>
    public static Func<ConnInfo, bool> UpAt(SimulatedPbx pbx) => i => i.Up && !i.Standby && pbx.Address.Equals(i.Cur);

    /// <summary>Up at <paramref name="pbx"/> acting as standby.</summary>
    public static Func<ConnInfo, bool> StandbyAt(SimulatedPbx pbx) => i => i.Up && i.Standby && pbx.Address.Equals(i.Cur);
}
