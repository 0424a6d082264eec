using System.Reflection.PortableExecutable;

namespace Innovaphone.Redundancy.Tests.Packaging;

/// <summary>What a managed assembly file says about precompiled (ReadyToRun) code in it.</summary>
/// <param name="IsReadyToRun">The CLI header points to a ReadyToRun header (crossgen2 wrote native code into it).</param>
/// <param name="Machine">The COFF machine: for ReadyToRun code the architecture XOR an operating system value.</param>
public sealed record ReadyToRunImage(bool IsReadyToRun, ushort Machine)
{
    // crossgen2 marks the target operating system in the COFF machine (the architecture's value XOR an OS value, 0 for
    // Windows), so that a runtime on another OS ignores the native code and runs the IL.
    private const ushort LinuxMachineXor = 0x7B79;

    /// <summary>Reads the PE headers of an assembly (a seekable stream).</summary>
    public static ReadyToRunImage Read(Stream assembly)
    {
        using var reader = new PEReader(assembly, PEStreamOptions.LeaveOpen);
        var headers = reader.PEHeaders;
        var corHeader = headers.CorHeader ?? throw new InvalidOperationException("not a managed assembly");
        return new ReadyToRunImage(corHeader.ManagedNativeHeaderDirectory.Size > 0, (ushort)headers.CoffHeader.Machine);
    }

    /// <summary>Reads the PE headers of an assembly file.</summary>
    public static ReadyToRunImage Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream);
    }

    /// <summary>The COFF machine crossgen2 writes for ReadyToRun code of <paramref name="rid"/> (x64 RIDs only).</summary>
    public static ushort MachineOf(string rid) => rid switch
    {
        "win-x64" => (ushort)System.Reflection.PortableExecutable.Machine.Amd64,
        "linux-x64" => (ushort)((ushort)System.Reflection.PortableExecutable.Machine.Amd64 ^ LinuxMachineXor),
        _ => throw new ArgumentOutOfRangeException(nameof(rid), rid, "no machine value known for this RID"),
    };
}
