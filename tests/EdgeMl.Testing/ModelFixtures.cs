namespace EdgeMl.Testing;

/// <summary>The real PaddleOCR models fetched by <c>scripts/fetch-models.sh</c>.</summary>
public static class ModelFixtures
{
    public const string ClassifierFile = "ch_ppocr_mobile_v2.0_cls_infer.onnx";
    public const string DetectorFile = "ch_PP-OCRv4_det_infer.onnx";
    public const string RecognizerFile = "ch_PP-OCRv4_rec_infer.onnx";

    /// <summary>Classifier input name and the shape tests feed it.</summary>
    public const string ClassifierInput = "x";
    public const string ClassifierOutput = "softmax_0.tmp_0";
    public static readonly long[] ClassifierShape = [1, 3, 48, 192];

    public const string DetectorInput = "x";
    public static readonly long[] DetectorShape = [1, 3, 640, 640];

    public static string Classifier => Locate(ClassifierFile);
    public static string Detector => Locate(DetectorFile);
    public static string Recognizer => Locate(RecognizerFile);

    public static string RepositoryRoot { get; } = FindRoot();

    public static string Locate(string file)
    {
        var folder = Environment.GetEnvironmentVariable("EDGEML_FIXTURES") is { Length: > 0 } custom
            ? Path.Combine(custom, "models")
            : Path.Combine(RepositoryRoot, ".fixtures", "models");
        var path = Path.Combine(folder, file);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"Fixture model {file} is missing from {folder}; run scripts/fetch-models.sh.", path);
    }

    /// <summary>Deterministic pseudo-random values in [0, 1), the same for the same seed.</summary>
    public static float[] SampleInput(long[] shape, int seed)
    {
        var count = 1L;
        foreach (var d in shape)
        {
            count *= d;
        }

        var random = new Random(seed);
        var data = new float[count];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = random.NextSingle();
        }

        return data;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeMl.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"EdgeMl.sln not found above {AppContext.BaseDirectory}.");
    }
}
