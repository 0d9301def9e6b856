namespace EdgeMl.Agent.Http;

/// <summary>
/// The HTTP pipeline's frames keep what a request holds while it waits (the rest of its body above all: many clients
/// send the headers and the body apart) in pooled state machines (<see cref="System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder"/>),
/// not in a new state machine of 100–200 B per frame and request as a <see cref="Task"/>-returning method would. The
/// pipeline takes tasks: a request that did not wait needs none, one that waits is given a small one.
/// </summary>
internal static class PooledFrames
{
    public static Task AsTask(ValueTask answered)
    {
        if (answered.IsCompletedSuccessfully)
        {
            answered.GetAwaiter().GetResult(); // gives the pooled state back, should it have completed just now on another thread
            return Task.CompletedTask;
        }

        return answered.AsTask();
    }
}
