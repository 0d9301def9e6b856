using System.Diagnostics;
using System.Runtime.InteropServices;
using EdgeMl.Runtime.Providers;
using EdgeMl.Testing;

namespace EdgeMl.Runtime.Tests.Providers;

/// <summary>
/// The probes behind the provider report and the self-check, against the real loader: ELF needs, loader reasons, and the
/// CUDA driver API through a stand-in <c>libcuda</c> compiled here (this machine has no NVIDIA driver; hil-tests run the real one).
/// </summary>
[Trait(TestCategory.Key, TestCategory.Server)]
public sealed class NativeProbeTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("edgeml-cuda-stub-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Needed_OnnxRuntimeItself_ReadsItsElfEntriesAndLeavesOutTheCRuntime()
    {
        var path = OnnxRuntimeBuild.NativeLibraryPath;

        Assert.NotNull(path);
        Assert.StartsWith("libonnxruntime.so", Path.GetFileName(path), StringComparison.Ordinal);
        using var file = File.OpenHandle(path);
        var all = NativeLibraries.ReadNeeded((offset, length) =>
        {
            var buffer = new byte[length];
            RandomAccess.Read(file, buffer, offset);
            return buffer;
        });
        Assert.Contains("libstdc++.so.6", all);
        Assert.Contains("libc.so.6", all);
        Assert.Empty(NativeLibraries.Needed(path));
    }

    [Fact]
    public void Needed_ProviderLibraries_AreTheCuda13LibrariesOnTheGpuFlavourAndAbsentOnCpu()
    {
        var cuda = OnnxRuntimeBuild.ProviderLibraryPath(ProviderNames.Cuda);
        var tensorRt = OnnxRuntimeBuild.ProviderLibraryPath(ProviderNames.TensorRt);

        if (OnnxRuntimeBuild.Flavour == "gpu")
        {
            Assert.Equal(["libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", "libcuda.so.1"], NativeLibraries.Needed(cuda!));
            Assert.Equal(["libcublas.so.13", "libnvinfer.so.10", "libnvonnxparser.so.10", "libcudart.so.13", "libcudnn.so.9"], NativeLibraries.Needed(tensorRt!));
        }
        else
        {
            Assert.Equal("cpu", OnnxRuntimeBuild.Flavour);
            Assert.Null(cuda);
            Assert.Null(tensorRt);
        }
    }

    [Fact]
    public void Needed_NotAnElfFile_IsEmpty()
    {
        var text = Path.Combine(_folder, "libfake.so");
        File.WriteAllText(text, "not an ELF file, long enough to hold an ELF header of sixty-four bytes......");

        Assert.Empty(NativeLibraries.Needed(text));
        Assert.Empty(NativeLibraries.Needed(Path.Combine(_folder, "absent.so")));
    }

    [Fact]
    public void TryLoad_MissingLibrary_GivesTheLoadersOwnWords()
    {
        Assert.False(NativeLibraries.TryLoad("libedgeml-absent.so.7", out var error));
        Assert.Equal("libedgeml-absent.so.7: cannot open shared object file: No such file or directory", error);
        Assert.True(NativeLibraries.TryLoad("libm.so.6", out error));
        Assert.Null(error);
    }

    [Fact]
    public void CudaDriver_NotInstalled_IsAFactWithTheLoadersReason()
    {
        var state = CudaDriver.Query("libedgeml-no-driver.so.1");

        Assert.False(state.Loaded);
        Assert.Equal("libedgeml-no-driver.so.1: cannot open shared object file: No such file or directory", state.LoadError);
        Assert.Empty(state.Devices);
        Assert.StartsWith("the CUDA driver does not load: libedgeml-no-driver.so.1", state.WhyNotVisible(0), StringComparison.Ordinal);
    }

    [Fact]
    public void CudaDriver_TwoDevices_ReadsVersionNamesMemoryAndComputeCapability()
    {
        var state = CudaDriver.Query(StubDriver("two", initResult: 0, devices: 2));

        Assert.True(state.Loaded);
        Assert.Equal("13.1", state.DriverVersion);
        Assert.Null(state.Error);
        Assert.Equal([new CudaDevice(0, "Stub GPU 0", 16L << 30, "8.7"), new CudaDevice(1, "Stub GPU 1", 32L << 30, "8.7")], state.Devices);
        Assert.Null(state.WhyNotVisible(1));
        Assert.Equal("device 2 is not visible (2 devices: 0 Stub GPU 0, 1 Stub GPU 1)", state.WhyNotVisible(2));
    }

    [Fact]
    public void CudaDriver_NoDevice_SaysWhatCuInitSaid()
    {
        var state = CudaDriver.Query(StubDriver("none", initResult: 100, devices: 0));

        Assert.True(state.Loaded);
        Assert.Equal("cuInit: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected", state.Error);
        Assert.Equal("the CUDA driver sees no device: cuInit: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected", state.WhyNotVisible(0));
    }

    [Fact]
    public void AcceleratorCheck_ThisMachine_ReportsTheBuildAndWhatTheLoaderFinds()
    {
        var report = AcceleratorCheck.Run();

        Assert.Equal("1.32.0", report.OnnxRuntimeVersion);
        Assert.Equal(OnnxRuntimeBuild.NativeLibraryPath, report.NativeLibrary);
        Assert.Equal(OnnxRuntimeBuild.Flavour == "gpu" ? ["tensorrt", "cuda", "cpu"] : ["cpu"], report.Providers);
        // On the gpu flavour the sonames its provider libraries need; on cpu the newest of each family tried first.
        string[] expected = ["libcuda.so.1", "libcudart.so.13", "libcublasLt.so.13", "libcudnn.so.9", "libnvinfer.so.10"];
        foreach (var (probe, name) in report.Libraries.Zip(expected))
        {
            // Found exactly when the loader itself finds it: a fact about this machine, whichever machine runs the test.
            var found = NativeLibrary.TryLoad(probe.Name, out var handle);
            if (found)
            {
                NativeLibrary.Free(handle);
            }

            Assert.Equal(found, probe.Found);
            Assert.True(probe.Found || probe.Name == name, $"{probe.Name} reported instead of {name}");
            Assert.True(probe.Found == (probe.Detail is null), probe.Detail);
        }

        Assert.Equal(CudaDriver.State, report.Cuda);
    }

    [Fact]
    public void AcceleratorCheck_Probe_PrefersTheSonameTheBuildNeeds()
    {
        Assert.Equal(new LibraryProbe("libm.so.6", true, null), AcceleratorCheck.Probe("libm.so", ["libm.so.5", "libm.so.6"], []));
        var missing = AcceleratorCheck.Probe("libm.so", ["libm.so.6"], ["libm.so.99"]);
        Assert.Equal(("libm.so.99", false), (missing.Name, missing.Found));
        Assert.Equal("libedgeml-x.so.2: cannot open shared object file: No such file or directory (also tried libedgeml-x.so.1)",
            AcceleratorCheck.Probe("libedgeml-x.so", ["libedgeml-x.so.2", "libedgeml-x.so.1"], []).Detail);
    }

    [Theory]
    [InlineData("100300", "10.3.0")]
    [InlineData("8601", "8.6.1")]
    [InlineData(null, null)]
    public void AcceleratorCheck_TensorRtVersion_ReadsBothNumberings(string? number, string? version) =>
        Assert.Equal(version, AcceleratorCheck.TensorRtVersion(number));

    /// <summary>A libcuda stand-in with the driver API's signatures, compiled with the machine's C compiler.</summary>
    private string StubDriver(string name, int initResult, int devices)
    {
        var source = Path.Combine(_folder, $"{name}.c");
        File.WriteAllText(source, $$"""
            #include <stdio.h>
            #include <stddef.h>
            int cuDriverGetVersion(int* v) { *v = 13010; return 0; }
            int cuInit(unsigned int flags) { return {{initResult}}; }
            int cuDeviceGetCount(int* c) { *c = {{devices}}; return 0; }
            int cuDeviceGet(int* d, int ordinal) { *d = ordinal; return 0; }
            int cuDeviceGetName(char* n, int length, int d) { snprintf(n, length, "Stub GPU %d", d); return 0; }
            int cuDeviceTotalMem_v2(size_t* bytes, int d) { *bytes = (size_t)(d + 1) * 16 * 1024 * 1024 * 1024; return 0; }
            int cuDeviceGetAttribute(int* v, int attribute, int d) { *v = attribute == 75 ? 8 : attribute == 76 ? 7 : 0; return 0; }
            int cuGetErrorName(int e, const char** s) { *s = e == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_UNKNOWN"; return 0; }
            int cuGetErrorString(int e, const char** s) { *s = e == 100 ? "no CUDA-capable device is detected" : "unknown error"; return 0; }
            """);
        var library = Path.Combine(_folder, $"libcuda-{name}.so");
        using var gcc = Process.Start(new ProcessStartInfo("gcc", ["-shared", "-fPIC", "-o", library, source]) { RedirectStandardError = true })!;
        var errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        Assert.True(gcc.ExitCode == 0, errors);
        return library;
    }
}
