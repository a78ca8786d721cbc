using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Pipeline.Sources.Files;

/// <summary>What <see cref="FileStat"/> reports about a file.</summary>
/// <param name="Identity">Device and inode.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Links">Hard link count (0 once an open file is deleted).</param>
/// <param name="ModifiedNs">Last modification time, Unix nanoseconds (0 when unknown).</param>
internal readonly record struct FileStatus(FileIdentity Identity, long Size, uint Links, long ModifiedNs = 0);

/// <summary>
/// Device and inode of a file by path or by open handle. .NET has no inode API (<see cref="FileInfo"/> and
/// <see cref="File.GetUnixFileMode(string)"/> expose neither), so on Linux this calls <c>statx(2)</c> through libc.
/// </summary>
/// <remarks>
/// Why <c>statx</c> and not <c>stat</c>: <c>struct stat</c> has a different layout on x64 and arm64 (and glibc before
/// 2.33 exports it only as <c>__xstat</c>), while <c>struct statx</c> has one fixed, architecture-independent layout
/// (256 bytes, offsets below, from <c>include/uapi/linux/stat.h</c>), exists since Linux 4.11 / glibc 2.28 / musl
/// 1.2.5, and takes an open descriptor with <c>AT_EMPTY_PATH</c> (an <c>fstat</c> of the handle we read from). The
/// buffer is a plain byte array read at those fixed offsets, so no struct marshalling can go wrong. Where
/// <c>statx</c> is unavailable (other OSes, old libc), the identity falls back to a hash of the resolved path: symlinks
/// still dedupe, but a rename is then seen as a new file.
/// </remarks>
internal static class FileStat
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int BufferSize = 256;
    private const int NlinkOffset = 16;
    private const int InoOffset = 32;
    private const int SizeOffset = 40;
    private const int MtimeSecOffset = 112;
    private const int MtimeNsecOffset = 120;
    private const int DevMajorOffset = 136;
    private const int DevMinorOffset = 140;

    private const int OpenReadOnly = 0;
    private const int OpenCloseOnExec = 0x80000;
    private const int ErrorNoEntry = 2;
    private const int ErrorAccess = 13;
    private const int ErrorNotDirectory = 20;

    private static bool s_unavailable = !OperatingSystem.IsLinux();

    /// <summary>Stats <paramref name="path"/>, following symlinks.</summary>
    /// <param name="path">The path.</param>
    /// <param name="status">What was found.</param>
    /// <returns>Whether the file exists and could be stat'ed.</returns>
    public static bool TryStat(string path, out FileStatus status)
    {
        if (!s_unavailable)
        {
            var pathBytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
            Encoding.UTF8.GetBytes(path, pathBytes);
            var buffer = new byte[BufferSize];
            if (TryStatx(AtFdCwd, pathBytes, 0, buffer, out status))
            {
                return true;
            }

            if (!s_unavailable)
            {
                return false;
            }
        }

        return TryStatByPath(path, out status);
    }

    /// <summary>Stats the file behind an open handle (its size and link count now, even if renamed or deleted).</summary>
    /// <param name="handle">The open file.</param>
    /// <param name="path">Its path, for the fallback.</param>
    /// <param name="status">What was found.</param>
    /// <returns>Whether it could be stat'ed.</returns>
    public static bool TryStat(SafeFileHandle handle, string path, out FileStatus status)
    {
        if (!s_unavailable)
        {
            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                var fd = (int)handle.DangerousGetHandle();
                if (TryStatx(fd, [0], AtEmptyPath, new byte[BufferSize], out status))
                {
                    return true;
                }
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }

        try
        {
            var length = RandomAccess.GetLength(handle);
            var exists = TryStatByPath(path, out var byPath);
            status = new FileStatus(exists ? byPath.Identity : PathIdentity(path), length, exists ? 1u : 0u);
            return true;
        }
        catch (IOException)
        {
            status = default;
            return false;
        }
    }

    /// <summary>
    /// Opens a file for reading without the advisory lock .NET takes on Unix (<c>flock(LOCK_SH)</c> for any
    /// <see cref="FileShare"/> but <see cref="FileShare.None"/>): a reader of logs must never make a .NET writer's
    /// exclusive open (<c>File.Create</c>, <c>File.Copy</c>'s target) fail. Renames and deletions of the open file do
    /// not disturb the reader.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="bufferSize">The stream's buffer size (0 for none).</param>
    /// <returns>The stream.</returns>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be read.</exception>
    /// <exception cref="IOException">It cannot be opened.</exception>
    public static FileStream OpenRead(string path, int bufferSize)
    {
        if (!s_unavailable)
        {
            var pathBytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
            Encoding.UTF8.GetBytes(path, pathBytes);
            int fd;
            try
            {
                fd = NativeMethods.Open(pathBytes, OpenReadOnly | OpenCloseOnExec);
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
            {
                fd = -2;
            }

            if (fd >= 0)
            {
                return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, bufferSize);
            }

            if (fd == -1)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw errno switch
                {
                    ErrorNoEntry or ErrorNotDirectory => new FileNotFoundException($"Could not find file '{path}'.", path),
                    ErrorAccess => new UnauthorizedAccessException($"Access to the path '{path}' is denied."),
                    _ => new IOException($"Could not open '{path}' (errno {errno})."),
                };
            }
        }

        return new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = bufferSize,
        });
    }

    private static bool TryStatx(int directory, byte[] path, int flags, byte[] buffer, out FileStatus status)
    {
        status = default;
        int result;
        try
        {
            result = NativeMethods.Statx(directory, path, flags, StatxBasicStats, buffer);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            s_unavailable = true;
            return false;
        }

        if (result != 0)
        {
            // ENOSYS: a kernel or seccomp profile without statx.
            if (Marshal.GetLastPInvokeError() == 38)
            {
                s_unavailable = true;
            }

            return false;
        }

        var span = buffer.AsSpan();
        var device = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(span[DevMajorOffset..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(span[DevMinorOffset..]);
        var inode = BinaryPrimitives.ReadUInt64LittleEndian(span[InoOffset..]);
        var size = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[SizeOffset..]);
        var links = BinaryPrimitives.ReadUInt32LittleEndian(span[NlinkOffset..]);
        var modified = (BinaryPrimitives.ReadInt64LittleEndian(span[MtimeSecOffset..]) * 1_000_000_000) + BinaryPrimitives.ReadUInt32LittleEndian(span[MtimeNsecOffset..]);
        if (!BitConverter.IsLittleEndian)
        {
            device = ((ulong)BinaryPrimitives.ReadUInt32BigEndian(span[DevMajorOffset..]) << 32) | BinaryPrimitives.ReadUInt32BigEndian(span[DevMinorOffset..]);
            inode = BinaryPrimitives.ReadUInt64BigEndian(span[InoOffset..]);
            size = (long)BinaryPrimitives.ReadUInt64BigEndian(span[SizeOffset..]);
            links = BinaryPrimitives.ReadUInt32BigEndian(span[NlinkOffset..]);
            modified = (BinaryPrimitives.ReadInt64BigEndian(span[MtimeSecOffset..]) * 1_000_000_000) + BinaryPrimitives.ReadUInt32BigEndian(span[MtimeNsecOffset..]);
        }

        status = new FileStatus(new FileIdentity(device, inode), size, links, modified);
        return true;
    }

    private static bool TryStatByPath(string path, out FileStatus status)
    {
        try
        {
            var info = new FileInfo(path);
            var target = info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo;
            if (target is null || !target.Exists)
            {
                status = default;
                return false;
            }

            status = new FileStatus(PathIdentity(target.FullName), target.Length, 1, (target.LastWriteTimeUtc - DateTime.UnixEpoch).Ticks * 100);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            status = default;
            return false;
        }
    }

    private static FileIdentity PathIdentity(string fullPath) => new(0, FileFingerprint.Compute(Encoding.UTF8.GetBytes(fullPath)) | 1);

    private static class NativeMethods
    {
        // int statx(int dirfd, const char *pathname, int flags, unsigned int mask, struct statx *statxbuf);
        // byte[] arguments are blittable and pinned for the call, so no unsafe code is needed.
        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Statx(int dirfd, byte[] pathname, int flags, uint mask, byte[] statxbuf);

        // int open(const char *pathname, int flags); (no O_CREAT, so no mode argument)
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Open(byte[] pathname, int flags);
    }
}
