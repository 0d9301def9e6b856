using System.Reflection;
using BenchmarkDotNet.Running;

// Not typeof(Program): the agent's own Program is visible here too (InternalsVisibleTo, for the capture benchmarks).
BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(args);
