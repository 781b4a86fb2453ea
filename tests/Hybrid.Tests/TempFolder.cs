namespace Hybrid.Tests;

/// <summary>A test class with a temporary folder of its own, removed after each test.</summary>
public abstract class TempFolderTests(string prefix) : IDisposable
{
    /// <summary>The folder.</summary>
    protected string Folder { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <inheritdoc/>
    public void Dispose()
    {
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}
