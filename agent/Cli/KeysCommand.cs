using System.CommandLine;
using EdgeMl.Runtime.Packages;

namespace EdgeMl.Agent.Cli;

/// <summary><c>edgeml keys create --name NAME --out DIR</c>: a new ECDSA P-256 signing key pair.</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "Key name; files are NAME.key.pem and NAME.pub.pem", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder to write the key pair into", Required = true };
        var create = new Command("create", "Create a signing key pair (ECDSA P-256)") { name, output };
        create.SetAction(async (parse, ct) => await CreateKeyAsync(parse.GetValue(name)!, parse.GetValue(output)!.FullName, Console.Out, Console.Error, ct));
        return new Command("keys", "Manage model signing keys") { create };
    }

    internal static async Task<int> CreateKeyAsync(string name, string folder, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (!PackageVerifier.IsSafeRelativePath(name) || name.Contains('/', StringComparison.Ordinal))
        {
            await error.WriteLineAsync($"edgeml keys create: --name '{name}' must be a plain file name");
            return 2;
        }

        Directory.CreateDirectory(folder);
        var privatePath = Path.Combine(folder, name + ".key.pem");
        var publicPath = Path.Combine(folder, name + ".pub.pem");
        if (File.Exists(privatePath))
        {
            await error.WriteLineAsync($"edgeml keys create: {privatePath} exists; refusing to overwrite a signing key");
            return 2;
        }

        using var key = SigningKey.Create();
        // The private key is readable by its owner only.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var writer = new StreamWriter(privatePath, options))
        {
            await writer.WriteAsync(key.ExportPrivateKeyPem().AsMemory(), ct);
        }

        await File.WriteAllTextAsync(publicPath, key.ExportPublicKeyPem(), ct);
        await output.WriteLineAsync($"key {key.KeyId}: {privatePath} (keep secret), {publicPath} (give to devices)");
        return 0;
    }
}
