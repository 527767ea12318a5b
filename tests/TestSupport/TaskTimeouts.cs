namespace Berth.TestSupport;

/// <summary>Every integration await gets a deadline, so a hung part fails one test instead of the whole run.</summary>
public static class TaskTimeouts
{
    /// <summary>The default deadline for one integration step.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromMinutes(2);

    /// <summary>Awaits <paramref name="task"/>, failing with <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public static async Task<T> WithTimeout<T>(this Task<T> task, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Default;
        try
        {
            return await task.WaitAsync(limit);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            throw new TimeoutException($"The operation did not finish within {limit.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>Awaits <paramref name="task"/>, failing with <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public static async Task WithTimeout(this Task task, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Default;
        try
        {
            await task.WaitAsync(limit);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            throw new TimeoutException($"The operation did not finish within {limit.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, string? what = null)
    {
        var limit = timeout ?? Default;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {limit.TotalSeconds:0.#} s for {what ?? "a condition"}.");
            }

            await Task.Delay(100);
        }
    }
}
