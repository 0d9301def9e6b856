using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(EdgeMl.Benchmarks.EngineBenchmarks).Assembly).Run(args);
