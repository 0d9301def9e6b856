using System.CommandLine;
using System.Globalization;
using EdgeMl.CloudSync.Registries;
using EdgeMl.Runtime.Packages;
using EdgeMl.Runtime.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeMl.Agent.Cli;

/// <summary><c>edgeml model publish|pull|rollback</c>: moving versions between an operator, a registry and a device.</summary>
internal static class ModelTransferCommands
{
    public static Command Publish()
    {
        var folder = new Argument<DirectoryInfo>("DIR") { Description = "Signed package folder" };
        var registry = new Option<string>("--registry") { Description = "Folder, http(s):// URL accepting PUT, blob container URL, or blob connection string with Container=NAME", Required = true };
        var key = new Option<FileInfo>("--key") { Description = "Private key PEM that signs versions.json (and signed the package)", Required = true };
        var days = new Option<double>("--expires-days") { Description = "Days until versions.json expires; re-publish or renew before then", DefaultValueFactory = _ => 30 };
        var trust = ModelCommand.TrustOption();
        trust.Description = "Public key PEM of another publisher whose signature on the existing versions.json is accepted (repeatable)";
        var newList = new Option<bool>("--new-list") { Description = "Start a new versions.json instead of extending the registry's, which is not read; the versions it listed are no longer offered" };
        var command = new Command("publish", "Upload a signed package and add it to the model's signed versions.json (which must verify first)")
        {
            folder, registry, key, days, trust, newList,
        };
        command.SetAction(async (parse, ct) => await RunAsync("publish", async () =>
        {
            using var signing = SigningKey.FromPem(await File.ReadAllTextAsync(parse.GetValue(key)!.FullName, ct));
            await using var registries = Registries(new DownloadOptions());
            var target = registries.GetRequiredService<IModelRegistryFactory>().Create(parse.GetValue(registry)!);
            var publisher = new ModelPublisher(target)
            {
                TrustedKeyPems = [.. (parse.GetValue(trust) ?? []).Select(f => File.ReadAllText(f.FullName))],
                NewList = parse.GetValue(newList),
            };
            var package = parse.GetValue(folder)!.FullName;
            var version = ModelPackage.Open(package).Manifest.Version;
            var list = await publisher.PublishAsync(package, signing, TimeSpan.FromDays(parse.GetValue(days)), ConsoleProgress.ForConsole(), ct);
            if (publisher.NewList)
            {
                await Console.Error.WriteLineAsync(
                    $"--new-list: started a new versions.json for {list.Name} in {target.Description}; the list there before was not read, and the versions it listed are no longer offered");
            }

            var latest = list.Latest?.Version;
            await Console.Out.WriteLineAsync(
                $"published {list.Name} v{version} to {target.Description}; versions.json lists {string.Join(", ", list.Versions.Select(v => v.Version))}, sequence {list.Sequence}, expires {list.Expires:O}"
                + (latest > version ? $"; devices asking for latest still get v{latest} (ask for v{version} by number)" : ""));
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    public static Command Pull()
    {
        var name = new Argument<string>("NAME") { Description = "Model name" };
        var version = new Option<string>("--version") { Description = "A version number, or latest", DefaultValueFactory = _ => "latest" };
        var registry = new Option<string>("--registry") { Description = "Folder, http(s):// URL, blob container URL, or blob connection string with Container=NAME", Required = true };
        var trust = ModelCommand.TrustOption();
        var data = new Option<DirectoryInfo>("--data") { Description = "The device data directory (models/ and downloads/ live there)", Required = true };
        var allowUnsigned = new Option<bool>("--allow-unsigned") { Description = "Accept unsigned packages and version lists (not for production)" };
        var pin = new Option<bool>("--pin") { Description = "Accept this version even if a higher one was accepted before (deliberate rollback)" };
        var minRate = new Option<long>("--min-rate") { Description = "Bytes per second below which a transfer counts as stalled", DefaultValueFactory = _ => 4096 };
        var stall = new Option<double>("--stall-seconds") { Description = "Window over which the minimum rate is measured", DefaultValueFactory = _ => 30 };
        var keep = new Option<int>("--keep-extra") { Description = "Versions kept beyond the active and the previous good one", DefaultValueFactory = _ => 1 };
        var command = new Command("pull", "Download, verify, install and activate a model version, as the agent does")
        {
            name, version, registry, trust, data, allowUnsigned, pin, minRate, stall, keep,
        };
        command.SetAction(async (parse, ct) => await RunAsync("pull", async () =>
        {
            var requested = parse.GetValue(version)!;
            long? wanted = requested == "latest" ? null
                : long.TryParse(requested, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
                : throw new ArgumentException($"--version '{requested}' must be a number or latest");
            using var keys = ModelCommand.LoadTrust(parse.GetValue(trust) ?? []);
            var store = new ModelStore(new ModelStoreOptions { DataDirectory = parse.GetValue(data)!.FullName, KeepExtraVersions = parse.GetValue(keep) });
            store.Recover();
            var limits = new DownloadOptions
            {
                MinBytesPerSecond = parse.GetValue(minRate),
                StallWindow = TimeSpan.FromSeconds(parse.GetValue(stall)),
            };
            await using var registries = Registries(limits);
            var puller = new ModelPuller(registries.GetRequiredService<IModelRegistryFactory>().Create(parse.GetValue(registry)!), store, new TrustPolicy(keys, parse.GetValue(allowUnsigned)), new FileDownloader(limits));
            var result = await puller.PullAsync(
                new PullRequest(parse.GetValue(name)!, wanted) { Pinned = parse.GetValue(pin) }, new LoaderValidator(new ModelLoader()), ConsoleProgress.ForConsole(), ct);
            if (result.AlreadyActive)
            {
                await Console.Out.WriteLineAsync($"{result.Name} v{result.Version} is already active");
                return ExitCodes.Ok;
            }

            var activation = result.Activation!;
            if (!activation.Activated)
            {
                await Console.Error.WriteLineAsync(
                    $"edgeml model pull: {result.Name} v{result.Version} was refused at {activation.Validation.Stage}: {activation.Validation.Reason}; v{activation.ActiveVersion?.ToString(CultureInfo.InvariantCulture) ?? "(none)"} stays active");
                return ExitCodes.CandidateRefused;
            }

            await Console.Out.WriteLineAsync($"{result.Name} v{result.Version} is active");
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    public static Command Rollback()
    {
        var name = new Argument<string>("NAME") { Description = "Model name" };
        var data = new Option<DirectoryInfo>("--data") { Description = "The device data directory", Required = true };
        var command = new Command("rollback", "Make the previous good version active again") { name, data };
        command.SetAction(parse => ModelCommand.Run("rollback", () =>
        {
            var store = new ModelStore(new ModelStoreOptions { DataDirectory = parse.GetValue(data)!.FullName });
            var model = parse.GetValue(name)!;
            var from = store.GetActive(model)?.Version;
            if (store.Rollback(model) is not { } record)
            {
                Console.Error.WriteLine(from is { } active
                    ? $"edgeml model rollback: nothing to roll back to: {model} v{active} is active and no earlier good version is installed"
                    : $"edgeml model rollback: nothing to roll back: {model} has no active version in {parse.GetValue(data)!.FullName}");
                return ExitCodes.NothingToRollBack;
            }

            Console.Out.WriteLine($"{model} rolled back from v{from} to v{record.Version}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The registry kinds the agent chooses from, for a verb that runs without the host; disposed when the verb ends.</summary>
    private static ServiceProvider Registries(DownloadOptions limits) =>
        new ServiceCollection().AddLogging().AddSingleton(Options.Create(limits)).AddModelRegistries().BuildServiceProvider();

    private static async Task<int> RunAsync(string verb, Func<Task<int>> action, CancellationToken ct)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (ExitCodes.For(e) is { } code)
        {
            await Console.Error.WriteLineAsync($"edgeml model {verb}: {e.Message}");
            return code;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"edgeml model {verb}: {ExitCodes.StoppedMessage}");
            return ExitCodes.Stopped;
        }
    }
}
