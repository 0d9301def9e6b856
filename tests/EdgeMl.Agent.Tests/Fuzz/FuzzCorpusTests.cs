using System.Text.RegularExpressions;
using EdgeMl.Fuzz;
using EdgeMl.Testing;

namespace EdgeMl.Agent.Tests.Fuzz;

/// <summary>
/// The fuzz harnesses (fuzz/EdgeMl.Fuzz, run by scripts/fuzz.sh under afl++) build with the suite and run here on the
/// committed corpus: the seeds and every input a fuzzer once crashed on (<c>found-*</c>), so a harness cannot rot and
/// a fixed crash cannot come back.
/// </summary>
public sealed partial class FuzzCorpusTests
{
    private static readonly string Corpus = Path.Combine(ModelFixtures.RepositoryRoot, "fuzz", "corpus");

    public static TheoryData<string, string> Inputs()
    {
        var inputs = new TheoryData<string, string>();
        foreach (var folder in Directory.GetDirectories(Corpus).Order(StringComparer.Ordinal))
        {
            foreach (var file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
            {
                inputs.Add(Path.GetFileName(folder), Path.GetFileName(file));
            }
        }

        return inputs;
    }

    [Fact]
    public void Corpus_OneFolderOfSeedsPerHarness_AndTheScriptRunsThemAll()
    {
        var folders = Directory.GetDirectories(Corpus).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        var script = File.ReadAllText(Path.Combine(ModelFixtures.RepositoryRoot, "scripts", "fuzz.sh"));
        var scripted = AllHarnesses().Match(script).Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(Harnesses.All.Keys.Order(StringComparer.Ordinal), folders);
        Assert.Equal(Harnesses.All.Keys.Order(StringComparer.Ordinal), scripted.Order(StringComparer.Ordinal));
        Assert.All(Harnesses.All.Keys, h => Assert.True(Directory.GetFiles(Path.Combine(Corpus, h)).Length >= 2, $"{h} has fewer than 2 seeds"));
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Replay_CommittedInput_ParsedOrRefusedWithoutCrashing(string harness, string file)
    {
        var input = File.ReadAllBytes(Path.Combine(Corpus, harness, file));

        Harnesses.All[harness](input);
    }

    [GeneratedRegex(@"^all=\(([^)]*)\)", RegexOptions.Multiline)]
    private static partial Regex AllHarnesses();
}
