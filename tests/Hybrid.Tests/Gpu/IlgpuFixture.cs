using Hybrid.Gpu;

namespace Hybrid.Tests.Gpu;

/// <summary>One ILGPU CPU accelerator for the device tests (creating one costs a few hundred milliseconds; kernels compile once per accelerator).</summary>
public sealed class IlgpuFixture : IDisposable
{
    public IlgpuDevice Device { get; } = IlgpuDevice.OpenCpuAccelerator();

    public void Dispose() => Device.Dispose();
}

[CollectionDefinition(Name)]
public sealed class IlgpuCollection : ICollectionFixture<IlgpuFixture>
{
    public const string Name = "ILGPU CPU accelerator";
}
