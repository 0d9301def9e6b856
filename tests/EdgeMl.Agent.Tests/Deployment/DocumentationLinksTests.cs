using System.Text.RegularExpressions;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Deployment;

/// <summary>
/// The README and every other page in the repository point only at what a clone has: links and repository paths
/// resolve inside it, and nothing refers to notes kept beside the repository.
/// </summary>
public sealed partial class DocumentationLinksTests
{
    private static readonly string Root = ModelFixtures.RepositoryRoot;
    private static readonly string[] Skipped = ["bin", "obj", "node_modules", ".fixtures", ".edgeml", "artifacts", ".git"];

    public static TheoryData<string> Pages()
    {
        var pages = new TheoryData<string>();
        foreach (var page in PageList())
        {
            pages.Add(page);
        }

        return pages;
    }

    [Fact]
    public void Pages_TheReadmeAndTheDocsFolder_AreAmongThoseChecked()
    {
        var pages = PageList();

        Assert.Contains("README.md", pages);
        Assert.Contains(Path.Combine("docs", "agent.md"), pages);
        Assert.Contains(Path.Combine("docs", "open-inference-protocol.md"), pages);
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Page_LinksAndRepositoryPaths_StayInsideTheRepositoryAndExist(string page)
    {
        var text = File.ReadAllText(Path.Combine(Root, page));
        var folder = Path.GetDirectoryName(Path.Combine(Root, page))!;
        var problems = new List<string>();

        foreach (Match link in Link().Matches(text))
        {
            var target = link.Groups["target"].Value.Split('#')[0];
            if (target.Length == 0 || Uri.TryCreate(target, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https" or "mailto")
            {
                continue;
            }

            var resolved = Path.GetFullPath(Path.Combine(folder, target));
            if (!resolved.StartsWith(Root.TrimEnd('/') + "/", StringComparison.Ordinal))
            {
                problems.Add($"link ({target}) leaves the repository");
            }
            else if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                problems.Add($"link ({target}) names nothing");
            }
        }

        // Paths written as `folder/file`, from the repository root, as these pages write them.
        var topLevel = Directory.EnumerateFileSystemEntries(Root).Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
        foreach (Match code in Code().Matches(text))
        {
            var path = code.Groups["path"].Value.TrimEnd('/');
            if (path.StartsWith("../", StringComparison.Ordinal))
            {
                problems.Add($"`{path}` leaves the repository");
            }
            else if (topLevel.Contains(path.Split('/')[0]) && !File.Exists(Path.Combine(Root, path)) && !Directory.Exists(Path.Combine(Root, path)))
            {
                problems.Add($"`{path}` does not exist");
            }
        }

        foreach (Match outside in Outside().Matches(text))
        {
            problems.Add($"'{outside.Value}' is not in a clone of the repository");
        }

        Assert.True(problems.Count == 0, $"{page}:\n  " + string.Join("\n  ", problems));
    }

    private static List<string> PageList() => [.. Markdown(Root).Select(p => Path.GetRelativePath(Root, p)).Order(StringComparer.Ordinal)];

    private static IEnumerable<string> Markdown(string folder) =>
        Directory.EnumerateFiles(folder, "*.md")
            .Concat(Directory.EnumerateDirectories(folder).Where(d => !Skipped.Contains(Path.GetFileName(d))).SelectMany(Markdown));

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex Link();

    /// <summary>A backticked relative path with at least one '/', no placeholders or wildcards.</summary>
    [GeneratedRegex(@"`(?<path>(\.\./)*[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)+/?)`")]
    private static partial Regex Code();

    [GeneratedRegex(@"(\.\./)+shared\b|\bshared/(DESIGN|STYLE|fixtures|docs)\b")]
    private static partial Regex Outside();
}
