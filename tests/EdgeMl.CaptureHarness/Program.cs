using EdgeMl.CaptureHarness;

return await Harness.RunAsync(args);
