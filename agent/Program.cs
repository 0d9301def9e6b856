using EdgeMl.Agent.Cli;

return await EdgeMlCommandLine.Create().Parse(args).InvokeAsync();
