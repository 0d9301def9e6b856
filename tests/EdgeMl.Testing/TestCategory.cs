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
}
