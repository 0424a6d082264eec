using Xunit;

// The run-wide secret sweep (TestSupport's RunSecretsFixture) over every test of this assembly.
[assembly: AssemblyFixture(typeof(RunSecretsFixture))]
