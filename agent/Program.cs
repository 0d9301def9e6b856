using EdgeMl.Agent.Cli;

return await EdgeMlCommandLine.InvokeAsync(args);
