// The service sample: a generic host worker that keeps a connection to an innovaphone PBX through
// Innovaphone.Redundancy.Hosting and logs every connInfo change.
//
// Configuration (appsettings.json, environment variables, user secrets, command line):
//   Innovaphone:Redundancy:*   the PBX, user, password and failover settings (docs/hosting.md lists every key).
//                              With no Primary configured, an emulated PBX pair is served on 127.0.0.1 (TLS with
//                              a self-signed certificate, trusted by its thumbprint) and the user's PBX fails and
//                              comes back every Service:EmulatorFailEvery, so that the log shows failover.
//   Service:RunFor / --run-for <seconds>   stop by itself (for smoke runs); otherwise Ctrl-C or SIGTERM stops it.
// Exit codes: 0 stopped, 3 the manager faulted (login rejected, logged out).
using Innovaphone.Redundancy.Hosting;
using Innovaphone.Redundancy.Service;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,

    // appsettings.json lives beside the binary, whatever the working directory.
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--run-for"] = "Service:RunFor" });

var redundancy = builder.Configuration.GetSection(RedundancyServiceOptions.DefaultSectionName);
await using var emulated = string.IsNullOrWhiteSpace(redundancy["Primary"]) ? await EmulatedInstallation.StartAsync() : null;
if (emulated is not null)
{
    builder.Configuration.AddInMemoryCollection(emulated.Configuration(RedundancyServiceOptions.DefaultSectionName));
    builder.Services.AddSingleton(emulated);
    builder.Services.AddHostedService<EmulatorFailures>();
}

builder.Services.AddInnovaphoneRedundancy(redundancy);
builder.Services.AddHostedService<ConnInfoLogger>();
builder.Services.AddHostedService<StopAfter>();

using var host = builder.Build();
await host.RunAsync();
return Environment.ExitCode;
