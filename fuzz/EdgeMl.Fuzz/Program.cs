using EdgeMl.Fuzz;
using SharpFuzz;

// edgeml-fuzz HARNESS         runs under afl-fuzz: one process, input after input from stdin (SharpFuzz's persistent
//                             loop); an exception that escapes the harness is a crash.
// edgeml-fuzz HARNESS FILE... runs each file through the harness once, as the replay test does: what afl++ saved
//                             under crashes/ or hangs/ can be looked at here, with the exception's stack.
if (args.Length == 0 || !Harnesses.All.TryGetValue(args[0], out var harness))
{
    await Console.Error.WriteLineAsync($"usage: edgeml-fuzz HARNESS [FILE...]; harnesses: {string.Join(", ", Harnesses.All.Keys)}");
    return 2;
}

if (args.Length == 1)
{
    var input = new MemoryStream();
    Fuzzer.Run(stream =>
    {
        input.SetLength(0);
        stream.CopyTo(input);
        harness(input.GetBuffer().AsMemory(0, (int)input.Length));
    });
    return 0;
}

foreach (var file in args.Skip(1))
{
    harness(await File.ReadAllBytesAsync(file));
    Console.WriteLine($"{file}: ok");
}

return 0;
