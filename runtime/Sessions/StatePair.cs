using EdgeMl.Runtime.Tensors;

namespace EdgeMl.Runtime.Sessions;

/// <summary>
/// A recurrent model's state: what <paramref name="Output"/> returns is fed to <paramref name="Input"/> on the next call
/// of the same sequence, starting from <paramref name="Initial"/> (named as the input).
/// </summary>
public sealed record StatePair(string Output, string Input, InferenceTensor Initial);
