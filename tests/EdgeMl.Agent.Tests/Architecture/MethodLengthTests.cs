using System.Text.RegularExpressions;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Architecture;

/// <summary>
/// No method in production code runs over <see cref="Limit"/> lines, declaration to closing brace, except the linear
/// rule lists named below. Read from the source as text, by brace depth.
/// </summary>
public sealed partial class MethodLengthTests
{
    private const int Limit = 60;

    /// <summary>Linear lists of rules, one check after another: splitting them would scatter one rule set.</summary>
    private static readonly HashSet<string> RuleLists = new(StringComparer.Ordinal)
    {
        "runtime/Packages/ManifestRules.cs:Check",
        "cloud-sync/IoTHub/IoTHubConnectionString.cs:TryParse",
        "agent/Desired/DesiredStateParser.cs:Model",
    };

    [Fact]
    public void Methods_ProductionCode_NoneOverTheLimitBeyondTheNamedOnes()
    {
        var longMethods = LongMethods().Select(m => m.Key).ToHashSet(StringComparer.Ordinal);

        var unlisted = longMethods.Where(m => !RuleLists.Contains(m)).Order(StringComparer.Ordinal).ToArray();

        Assert.True(unlisted.Length == 0, $"Methods over {Limit} lines: {string.Join(", ", unlisted)}");
    }

    [Fact]
    public void LongMethods_ASixtyOneLineMethod_Found()
    {
        var body = string.Concat(Enumerable.Repeat("        Call();\n", 58));
        var source = $"internal sealed class C\n{{\n    public void Long()\n    {{\n{body}    }}\n}}\n";

        Assert.Equal([("Long", 61)], Measure(source).Where(m => m.Lines > Limit));
    }

    private static IEnumerable<KeyValuePair<string, int>> LongMethods()
    {
        foreach (var project in new[] { "agent", "runtime", "cloud-sync" })
        {
            var root = Path.Combine(ModelFixtures.RepositoryRoot, project);
            foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
            {
                var relative = Path.GetRelativePath(ModelFixtures.RepositoryRoot, file).Replace(Path.DirectorySeparatorChar, '/');
                foreach (var (name, lines) in Measure(File.ReadAllText(file)).Where(m => m.Lines > Limit))
                {
                    yield return new($"{relative}:{name}", lines);
                }
            }
        }
    }

    /// <summary>Each method with a block body: from its declaration line to the brace that closes it at the same indent.</summary>
    private static IEnumerable<(string Name, int Lines)> Measure(string source)
    {
        var lines = source.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var declaration = Declaration().Match(lines[i]);
            if (!declaration.Success || TypeDeclaration().IsMatch(lines[i]) || lines[i].TrimEnd().EndsWith(';') || lines[i].Contains("=>", StringComparison.Ordinal))
            {
                continue;
            }

            var open = i;
            while (open < lines.Length && lines[open].Trim() != "{" && !lines[open].TrimEnd().EndsWith(';') && !lines[open].Contains("=>", StringComparison.Ordinal))
            {
                open++;
            }

            if (open == lines.Length || lines[open].Trim() != "{")
            {
                continue;
            }

            var indent = lines[open].Length - lines[open].TrimStart().Length;
            var close = open + 1;
            while (close < lines.Length && !(lines[close].Trim() == "}" && lines[close].Length - lines[close].TrimStart().Length == indent))
            {
                close++;
            }

            yield return (declaration.Groups["name"].Value, close - i + 1);
            i = close;
        }
    }

    [GeneratedRegex(@"^\s*(?:(?:public|private|internal|protected|static|async|override|sealed|virtual|partial|unsafe|new|extern)\s+)+[\w<>\[\],.? ()]+?\s+(?<name>\w+)\s*(?:<[^>]*>)?\s*\(")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"\b(class|record|struct|interface)\b")]
    private static partial Regex TypeDeclaration();
}
