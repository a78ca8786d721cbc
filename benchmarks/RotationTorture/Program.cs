using System.Globalization;
using Pipeline.RotationTorture;

// The agent through rotation, SIGKILLs and outages: pods log numbered lines with kubelet-style rename rotation
// (older files gzipped) or logrotate's copytruncate; the agent process is SIGKILLed and restarted while that goes on,
// or its endpoint answers 500 while several generations rotate. Prints how many lines were lost and duplicated.
//
//   dotnet run -c Release --project benchmarks/RotationTorture -- [--lines 150000] [--pods 3] [--rate 2000] [--rotate 2MB]
//       [--kills 3] [--outage 6] [--only rename|copytruncate|outage] [--work <dir>]
//
// With --work, each run's files stay in <dir>/<mode>: the pods' logs, the agent's log (agent.log), the positions file
// and a copy of it taken at each kill (positions.yaml.kill<n>), and the node's journal (journal.log: every rotation,
// copy, compression and deletion with the file's inode and the ids it holds), to find where a lost line went.
var lines = 150_000;
var pods = 3;
var rate = 2000;
var rotate = 2L * 1024 * 1024;
var kills = 3;
var outage = 6;
string? only = null;
string? work = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--lines": lines = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--pods": pods = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--rate": rate = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--rotate": rotate = ParseSize(args[++i]); break;
        case "--kills": kills = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--outage": outage = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--only": only = args[++i]; break;
        case "--work": work = Path.GetFullPath(args[++i]); break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

var perPod = lines / pods;
var timeout = TimeSpan.FromSeconds((lines / (double)(pods * rate)) + 300);
List<TortureOptions> runs = [];
if (only is null or "rename")
{
    runs.Add(new TortureOptions(RotationMode.Rename, pods, perPod, rate, rotate, kills, 0, timeout, WorkFor("rename")));
}

if (only is null or "copytruncate")
{
    runs.Add(new TortureOptions(RotationMode.CopyTruncate, pods, perPod, rate, rotate, kills, 0, timeout, WorkFor("copytruncate")));
}

if (only is null or "outage")
{
    runs.Add(new TortureOptions(RotationMode.Rename, pods, perPod, rate, rotate, 0, outage, timeout, WorkFor("outage")));
}

var failed = false;
foreach (var run in runs)
{
    var result = await TortureRun.RunAsync(run, message => Console.WriteLine($"  {message}"));
    Console.WriteLine(result);
    if (result.Lost > 0)
    {
        Console.WriteLine($"  missing (first {result.Missing.Count}): {string.Join(' ', result.Missing)}");
        failed = true;
    }
}

return failed ? 1 : 0;

string? WorkFor(string mode)
{
    if (work is null)
    {
        return null;
    }

    var directory = Path.Combine(work, mode);
    if (Directory.Exists(directory))
    {
        Directory.Delete(directory, recursive: true);
    }

    return directory;
}

static long ParseSize(string text)
{
    var upper = text.ToUpperInvariant();
    long factor = upper.EndsWith("GB", StringComparison.Ordinal) ? 1L << 30 : upper.EndsWith("MB", StringComparison.Ordinal) ? 1L << 20 : upper.EndsWith("KB", StringComparison.Ordinal) ? 1L << 10 : 1;
    return (long)(double.Parse(upper.TrimEnd('G', 'M', 'K', 'B'), CultureInfo.InvariantCulture) * factor);
}
