namespace EdgeMl.Agent;

/// <summary>How the agent's hosts read settings files.</summary>
internal static class SettingsFiles
{
    /// <summary>
    /// The host builder's argument for settings files read once, at start: no watcher on the executable's folder (a
    /// thread, inotify and its buffers) for files that are part of the image. Changes at run time come from the twin.
    /// </summary>
    public const string ReadOnce = "--hostBuilder:reloadConfigOnChange=false";
}
