using System.Globalization;
using System.Security.Cryptography;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;

namespace Innovaphone.Redundancy.Service;

/// <summary>
/// A master and a slave PBX served over TLS on 127.0.0.1 by the loopback emulator, and one user, alice, whose PBX is
/// the slave: the client is configured at the master, which redirects it to the slave. Her password is made up at
/// start and only handed to the service's configuration, the way a real one would come from a secret store.
/// </summary>
internal sealed class EmulatedInstallation : IAsyncDisposable
{
    private const string User = "alice";
    private readonly string _password;

    private EmulatedInstallation(PbxEmulator emulator, SimulatedPbx master, SimulatedPbx slave, string password)
    {
        Emulator = emulator;
        Master = master;
        Slave = slave;
        _password = password;
    }

    public PbxEmulator Emulator { get; }

    public SimulatedPbx Master { get; }

    /// <summary>Alice's PBX.</summary>
    public SimulatedPbx Slave { get; }

    public static async Task<EmulatedInstallation> StartAsync()
    {
        var emulator = new PbxEmulator(options: new PbxEmulatorOptions { UseTls = true });
        try
        {
            var master = await emulator.AddMasterAsync();
            var slave = await emulator.AddSlaveAsync(master);
            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            emulator.System.AddUser(User, password, home: slave);
            return new EmulatedInstallation(emulator, master, slave, password);
        }
        catch
        {
            await emulator.DisposeAsync();
            throw;
        }
    }

    /// <summary>The settings that point the service at the emulated master.</summary>
    public Dictionary<string, string?> Configuration(string section) => new()
    {
        [$"{section}:Primary"] = Master.Address.ToString(),
        [$"{section}:User"] = User,
        [$"{section}:Password"] = _password,
        [$"{section}:Scheme"] = Emulator.Scheme.ToString(),
        [$"{section}:TrustedCertificateThumbprints:0"] = Convert.ToHexString(Emulator.Certificate!.GetCertHash(HashAlgorithmName.SHA256)),
        [$"{section}:Phys"] = "emulated",
        [$"{section}:BackoffInitial"] = TimeSpan.FromMilliseconds(200).ToString("c", CultureInfo.InvariantCulture),
        [$"{section}:BackoffMax"] = TimeSpan.FromSeconds(2).ToString("c", CultureInfo.InvariantCulture),

        // The emulated PBXes live on ports chosen anew each run: a state file would never be read again.
        [$"{section}:PersistState"] = "false",
    };

    public ValueTask DisposeAsync() => Emulator.DisposeAsync();
}
