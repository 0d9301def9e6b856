using System.CommandLine;
using System.Globalization;

namespace EdgeMl.Agent.Cli;

/// <summary><c>edgeml support-bundle [--out FILE]</c>: saves a running agent's <c>/api/support-bundle</c> to a file.</summary>
internal static class SupportBundleCommand
{
    public static Command Create()
    {
        var url = AgentConnection.UrlOption();
        var token = AgentConnection.TokenOption();
        var output = new Option<FileInfo?>("--out") { Description = "Where to save it (default edgeml-support-UTCTIME.json here)" };
        var command = new Command(
            "support-bundle",
            "Save a running agent's support bundle, one JSON document: versions, settings with secrets redacted, installed models and their providers, recent events, health")
        {
            url, token, output,
        };
        command.SetAction((parse, cancellationToken) => LocalApiVerb.RunAsync("support-bundle", parse, url, token, (client, writer) =>
            RunAsync(client, parse.GetValue(output), TimeProvider.System, writer, cancellationToken)));
        return command;
    }

    internal static string DefaultFileName(TimeProvider time) =>
        $"edgeml-support-{time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}.json";

    internal static async Task<int> RunAsync(LocalApiClient client, FileInfo? target, TimeProvider time, TextWriter output, CancellationToken cancellationToken)
    {
        var path = target?.FullName ?? Path.GetFullPath(DefaultFileName(time));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/support-bundle");
        using var response = await client.SendAsync(request, cancellationToken);

        // Written aside and moved into place, so an interrupted transfer never leaves a truncated bundle under the name.
        var partial = path + ".partial";
        long length;
        try
        {
            await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await response.Content.CopyToAsync(file, cancellationToken);
                length = file.Length;
            }

            File.Move(partial, path, overwrite: true);
        }
        catch (HttpRequestException e)
        {
            File.Delete(partial);
            throw new AgentCallException(ExitCodes.AgentUnreachable, $"the agent stopped sending the support bundle: {e.Message}");
        }
        catch
        {
            File.Delete(partial);
            throw;
        }

        await output.WriteLineAsync($"saved the support bundle ({HealthText.Bytes(length)}) to {path}");
        return ExitCodes.Ok;
    }
}
