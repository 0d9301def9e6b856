using System.Text.RegularExpressions;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Deployment;

/// <summary>
/// docs/security.md proves each defence by naming tests (<c>Class.Method</c>, or a bare method of the class named
/// before it in the same row). Every name must be a test in the test projects, so a renamed or removed test cannot
/// leave the document citing a proof that no longer runs.
/// </summary>
public sealed partial class SecurityDocTests
{
    private static readonly string Root = ModelFixtures.RepositoryRoot;

    [Fact]
    public void SecurityDoc_EveryCitedTest_ExistsInItsClass()
    {
        var sources = Directory.GetFiles(Path.Combine(Root, "tests"), "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(Root, "hil-tests"), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText)
            .ToList();
        var cited = 0;
        var missing = new List<string>();
        foreach (var line in File.ReadLines(Path.Combine(Root, "docs", "security.md")))
        {
            string? className = null;
            foreach (Match token in Code().Matches(line))
            {
                var text = token.Groups[1].Value;
                string method;
                if (Qualified().Match(text) is { Success: true } q)
                {
                    (className, method) = (q.Groups[1].Value, q.Groups[2].Value);
                }
                else if (Bare().IsMatch(text) && className is not null)
                {
                    method = text;
                }
                else
                {
                    continue;
                }

                cited++;
                var declared = new Regex($@"\bclass {className}\b");
                var test = new Regex($@"\bpublic (async )?(void|Task) {method}\(");
                if (!sources.Any(s => declared.IsMatch(s) && test.IsMatch(s)))
                {
                    missing.Add($"{className}.{method}");
                }
            }
        }

        Assert.True(cited >= 70, $"only {cited} test names found in docs/security.md: has the way it cites tests changed?");
        Assert.Empty(missing);
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Code();

    [GeneratedRegex(@"^([A-Z][A-Za-z0-9]*Tests)\.([A-Z][A-Za-z0-9_]*)$")]
    private static partial Regex Qualified();

    [GeneratedRegex(@"^[A-Z][a-z][A-Za-z0-9]*_[A-Za-z0-9_]+$")]
    private static partial Regex Bare();
}
