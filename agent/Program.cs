using EdgeMl.Agent.Cli;

var parse = EdgeMlCommandLine.Create().Parse(args);
return await parse.InvokeAsync(EdgeMlCommandLine.Invocation(parse));
