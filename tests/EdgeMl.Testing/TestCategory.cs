namespace EdgeMl.Testing;

/// <summary>
/// The trait that separates quick, in-process unit tests from those that start a server or a process (Mosquitto,
/// Azurite, the IoT Hub simulator, the edgeml executable, a browser, a pseudo-terminal). <c>./scripts/test.sh
/// --quick</c> runs only the tests without it: <c>--filter "Category!=Server"</c>.
/// </summary>
/// <example><c>[Trait(TestCategory.Key, TestCategory.Server)]</c> on a test class.</example>
public static class TestCategory
{
    public const string Key = "Category";

    public const string Server = "Server";

    /// <summary>
    /// Tests that run the <c>edgeml</c> executable as its users do (a child process, a terminal, the image's entry
    /// command). They carry <see cref="Server"/> too; <c>scripts/test.sh</c> runs them a second time on the x64 image's
    /// Native AOT build (<c>--filter Category=Published</c> with <c>EDGEML_TEST_EXECUTABLE</c>).
    /// </summary>
    public const string Published = "Published";
}
