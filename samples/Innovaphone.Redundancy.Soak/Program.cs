using System.Globalization;
using Innovaphone.Redundancy.Soak;

// Soak: N managers against the loopback PBX emulator under random kills, revivals and partitions.
// Exit code 0: no manager stuck and nothing leaked; 1: a failure; 2: bad arguments.
const string Usage = "usage: Innovaphone.Redundancy.Soak [--managers N] [--seconds S] [--seed X]";

var options = new SoakOptions { Managers = 10, Duration = TimeSpan.FromSeconds(10), Seed = 1, Log = Console.WriteLine };
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : (int?)null;
    switch (args[i])
    {
        case "--managers" when value > 0:
            options = options with { Managers = value.Value };
            break;
        case "--seconds" when value is not null:
            options = options with { Duration = TimeSpan.FromSeconds(value.Value) };
            break;
        case "--seed" when value is not null:
            options = options with { Seed = value.Value };
            break;
        default:
            Console.Error.WriteLine(Usage);
            return 2;
    }

    i++;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var report = await SoakRunner.RunAsync(options, cancel.Token);
Console.WriteLine(report);
return report.Passed ? 0 : 1;
