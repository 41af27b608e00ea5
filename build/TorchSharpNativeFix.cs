// Compiled at build time by RoslynCodeTaskFactory (build/TorchSharpNativeFix.targets) against the netstandard
// reference set MSBuild hands it: hence only netstandard 2.0 APIs, hand-written little-endian reads and no
// nullable annotations. Why this task exists: docs/decisions/torchsharp-native-fix.md.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenTorchSharpGlibcxxRequirement : Microsoft.Build.Utilities.Task
{
    // The one version TorchSharp's GCC 13 build needs beyond GCC 12's libstdc++; it backs only
    // std::ios_base_library_init(), which nothing relocates against (checked below before every patch).
    private const string MissingVersion = "GLIBCXX_3.4.32";
    private const ushort VerFlgWeak = 0x2;

    [Required]
    public ITaskItem[] Libraries { get; set; }

    [Required]
    public string[] LibStdCxxCandidates { get; set; }

    public override bool Execute()
    {
        var systemLibrary = FindSystemLibStdCxx();
        if (systemLibrary != null && SystemDefinesMissingVersion(systemLibrary))
        {
            Log.LogMessage(MessageImportance.Low, "{0} defines {1}: TorchSharp's native library loads as shipped.", systemLibrary, MissingVersion);
            return true;
        }

        foreach (var library in Libraries)
        {
            var path = library.GetMetadata("FullPath");
            try
            {
                PatchIfNeeded(path, systemLibrary);
            }
            catch (Exception e) when (e is InvalidDataException || e is IOException || e is UnauthorizedAccessException)
            {
                Log.LogError(
                    "Cannot apply the TorchSharp native fix to '{0}': {1} If the TorchSharp package changed, re-check the fix " +
                    "against it (docs/decisions/torchsharp-native-fix.md); -p:TorchSharpNativeFixEnabled=false skips it.",
                    path,
                    e.Message);
            }
        }

        return !Log.HasLoggedErrors;
    }

    private string FindSystemLibStdCxx()
    {
        foreach (var candidate in LibStdCxxCandidates)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        // Patching is harmless where the version does exist, so not knowing means patch rather than risk a load failure.
        Log.LogMessage(MessageImportance.Low, "No libstdc++.so.6 among {0}; patching TorchSharp's native library anyway.", string.Join(";", LibStdCxxCandidates));
        return null;
    }

    private bool SystemDefinesMissingVersion(string systemLibrary)
    {
        try
        {
            var elf = new Elf(File.ReadAllBytes(systemLibrary));
            return elf.DefinedVersions().Contains(MissingVersion);
        }
        catch (Exception e) when (e is InvalidDataException || e is IOException || e is UnauthorizedAccessException)
        {
            Log.LogMessage(MessageImportance.Low, "Cannot read the version definitions of {0} ({1}); assuming it lacks {2}.", systemLibrary, e.Message, MissingVersion);
            return false;
        }
    }

    private void PatchIfNeeded(string path, string systemLibrary)
    {
        var elf = new Elf(File.ReadAllBytes(path));
        var requirement = elf.FindVersionRequirement(MissingVersion);
        if (requirement == null)
        {
            Log.LogMessage(MessageImportance.Low, "{0} does not require {1}; nothing to patch.", path, MissingVersion);
            return;
        }

        if ((requirement.Flags & VerFlgWeak) != 0)
        {
            Log.LogMessage(MessageImportance.Low, "{0} already marks {1} weak.", path, MissingVersion);
            return;
        }

        // A weak requirement only stops ld.so from rejecting the library up front; a relocation against a
        // symbol of that version would still fail, later and more confusingly, so refuse to patch then.
        var relocated = elf.RelocatedSymbolsOfVersion(requirement.VersionIndex);
        if (relocated.Count > 0)
        {
            throw new InvalidDataException(string.Format(
                "it relocates against {0} from {1}, so marking {1} weak would only move the failure to run time; " +
                "use a libstdc++ that defines {1} or a TorchSharp build made for this distribution.",
                string.Join(", ", relocated),
                MissingVersion));
        }

        WriteFlags(path, requirement.FlagsOffset, (ushort)(requirement.Flags | VerFlgWeak));
        Log.LogMessage(
            MessageImportance.High,
            "TorchSharp native fix: marked the {0} requirement (from {1}) weak in {2}, because {3} does not define it.",
            MissingVersion,
            requirement.FileName,
            path,
            systemLibrary ?? "the system libstdc++.so.6");
    }

    // Writes through a fresh copy renamed over the original, so a hard or symbolic link from the output into
    // the NuGet cache is replaced rather than written through: the cache must keep the file as shipped.
    private static void WriteFlags(string path, long flagsOffset, ushort flags)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(path), "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        var lastWriteTimeUtc = File.GetLastWriteTimeUtc(path);
        try
        {
            File.Copy(path, temporary, true);
            using (var stream = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite))
            {
                stream.Position = flagsOffset;
                stream.WriteByte((byte)flags);
                stream.WriteByte((byte)(flags >> 8));
            }

            // The copy keeps the package file's timestamp so that the next incremental build's Copy
            // (SkipUnchangedFiles: same size and time) leaves the patched file alone instead of re-copying it.
            File.SetLastWriteTimeUtc(temporary, lastWriteTimeUtc);
            File.Replace(temporary, path, null);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    private sealed class VersionRequirement
    {
        public string FileName { get; set; }

        public long FlagsOffset { get; set; }

        public ushort Flags { get; set; }

        public ushort VersionIndex { get; set; }
    }

    private sealed class Section
    {
        public int Index { get; set; }

        public uint Type { get; set; }

        public long Offset { get; set; }

        public long Size { get; set; }

        public uint Link { get; set; }

        public uint Info { get; set; }

        public long EntrySize { get; set; }
    }

    // Just enough of the ELF64 little-endian format (System V gABI and the GNU symbol versioning extension)
    // to walk version definitions, version requirements and dynamic relocations, with every read bounds-checked.
    private sealed class Elf
    {
        private const uint ShtStrtab = 3;
        private const uint ShtRela = 4;
        private const uint ShtNobits = 8;
        private const uint ShtRel = 9;
        private const uint ShtDynsym = 11;
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const uint ShtGnuVersym = 0x6fffffff;

        private readonly byte[] _bytes;
        private readonly List<Section> _sections = new List<Section>();

        public Elf(byte[] bytes)
        {
            _bytes = bytes;
            Require(bytes.Length >= 64 && bytes[0] == 0x7f && bytes[1] == (byte)'E' && bytes[2] == (byte)'L' && bytes[3] == (byte)'F', "the file is not ELF");
            Require(bytes[4] == 2 && bytes[5] == 1, "the file is not ELF64 little-endian");

            var sectionHeaderOffset = ReadOffset(0x28);
            var sectionHeaderSize = ReadU16(0x3a);
            var sectionCount = ReadU16(0x3c);
            Require(sectionHeaderSize == 64 && sectionCount > 0, "there is no usable section header table");

            for (var i = 0; i < sectionCount; i++)
            {
                var header = sectionHeaderOffset + (long)i * 64;
                var section = new Section
                {
                    Index = i,
                    Type = ReadU32(header + 4),
                    Offset = ReadOffset(header + 24),
                    Size = ReadSize(header + 32),
                    Link = ReadU32(header + 40),
                    Info = ReadU32(header + 44),
                    EntrySize = ReadSize(header + 56),
                };
                Require(section.Offset + section.Size <= _bytes.Length || section.Type == ShtNobits, "section " + i + " lies outside the file");
                _sections.Add(section);
            }
        }

        public HashSet<string> DefinedVersions()
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            var verdef = SingleSection(ShtGnuVerdef);
            if (verdef == null)
            {
                return names;
            }

            var strings = StringTableAt(verdef.Link);
            var entry = verdef.Offset;
            for (uint i = 0; i < verdef.Info; i++)
            {
                RequireWithin(verdef, entry, 20);
                Require(ReadU16(entry) == 1, "a Verdef entry has an unknown vd_version");
                var auxiliary = entry + ReadU32(entry + 12);
                RequireWithin(verdef, auxiliary, 8);

                // The first Verdaux names the version itself; later ones name its parents.
                names.Add(ReadString(strings, ReadU32(auxiliary)));
                var next = ReadU32(entry + 16);
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }

            return names;
        }

        public VersionRequirement FindVersionRequirement(string versionName)
        {
            var verneed = SingleSection(ShtGnuVerneed);
            if (verneed == null)
            {
                return null;
            }

            var strings = StringTableAt(verneed.Link);
            var entry = verneed.Offset;
            for (uint i = 0; i < verneed.Info; i++)
            {
                RequireWithin(verneed, entry, 16);
                Require(ReadU16(entry) == 1, "a Verneed entry has an unknown vn_version");
                var auxiliaryCount = ReadU16(entry + 2);
                var fileName = ReadString(strings, ReadU32(entry + 4));
                var auxiliary = entry + ReadU32(entry + 8);
                for (var j = 0; j < auxiliaryCount; j++)
                {
                    RequireWithin(verneed, auxiliary, 16);
                    if (ReadString(strings, ReadU32(auxiliary + 8)) == versionName)
                    {
                        return new VersionRequirement
                        {
                            FileName = fileName,
                            FlagsOffset = auxiliary + 4,
                            Flags = ReadU16(auxiliary + 4),
                            VersionIndex = (ushort)(ReadU16(auxiliary + 6) & 0x7fff),
                        };
                    }

                    var nextAuxiliary = ReadU32(auxiliary + 12);
                    if (nextAuxiliary == 0)
                    {
                        break;
                    }

                    auxiliary += nextAuxiliary;
                }

                var next = ReadU32(entry + 12);
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }

            return null;
        }

        public List<string> RelocatedSymbolsOfVersion(ushort versionIndex)
        {
            var symbols = new List<string>();
            var versym = SingleSection(ShtGnuVersym);
            Require(versym != null, "version requirements without a .gnu.version section");
            var dynsym = SectionAt(versym.Link);
            Require(dynsym.Type == ShtDynsym && dynsym.EntrySize == 24, ".gnu.version does not link to a 24-byte-entry .dynsym");
            var strings = StringTableAt(dynsym.Link);

            foreach (var relocations in _sections)
            {
                if ((relocations.Type != ShtRela && relocations.Type != ShtRel) || relocations.Link != dynsym.Index)
                {
                    continue;
                }

                var entrySize = relocations.Type == ShtRela ? 24 : 16;
                Require(relocations.EntrySize == entrySize, "relocation section " + relocations.Index + " has an unexpected entry size");
                for (var entry = relocations.Offset; entry + entrySize <= relocations.Offset + relocations.Size; entry += entrySize)
                {
                    var symbol = (long)(ReadU64(entry + 8) >> 32);
                    if (symbol == 0)
                    {
                        continue;
                    }

                    RequireWithin(versym, versym.Offset + symbol * 2, 2);
                    if ((ReadU16(versym.Offset + symbol * 2) & 0x7fff) == versionIndex)
                    {
                        RequireWithin(dynsym, dynsym.Offset + symbol * 24, 24);
                        symbols.Add(ReadString(strings, ReadU32(dynsym.Offset + symbol * 24)));
                    }
                }
            }

            return symbols;
        }

        private Section SingleSection(uint type)
        {
            Section found = null;
            foreach (var section in _sections)
            {
                if (section.Type == type)
                {
                    Require(found == null, "more than one section of type 0x" + type.ToString("x"));
                    found = section;
                }
            }

            return found;
        }

        private Section SectionAt(uint index)
        {
            Require(index > 0 && index < _sections.Count, "a section links to missing section " + index);
            return _sections[(int)index];
        }

        private Section StringTableAt(uint index)
        {
            var section = SectionAt(index);
            Require(section.Type == ShtStrtab, "section " + index + " is linked as a string table but is not one");
            return section;
        }

        private string ReadString(Section strings, uint offset)
        {
            var start = strings.Offset + offset;
            var end = start;
            while (true)
            {
                RequireWithin(strings, end, 1);
                if (_bytes[end] == 0)
                {
                    break;
                }

                end++;
            }

            return Encoding.ASCII.GetString(_bytes, (int)start, (int)(end - start));
        }

        private static void RequireWithin(Section section, long offset, long length) =>
            Require(offset >= section.Offset && offset + length <= section.Offset + section.Size, "an entry runs outside section " + section.Index);

        private static void Require(bool condition, string problem)
        {
            if (!condition)
            {
                throw new InvalidDataException("unexpected ELF structure: " + problem + ".");
            }
        }

        private long ReadOffset(long offset)
        {
            var value = ReadU64(offset);
            Require(value <= (ulong)_bytes.Length, "an offset or size points past the end of the file");
            return (long)value;
        }

        // Sizes are not bounded by the file (SHT_NOBITS occupies none of it), only kept clear of overflow.
        private long ReadSize(long offset)
        {
            var value = ReadU64(offset);
            Require(value < 1UL << 48, "a size is implausibly large");
            return (long)value;
        }

        private ushort ReadU16(long offset)
        {
            RequireInFile(offset, 2);
            return (ushort)(_bytes[offset] | _bytes[offset + 1] << 8);
        }

        private uint ReadU32(long offset)
        {
            RequireInFile(offset, 4);
            return (uint)(_bytes[offset] | _bytes[offset + 1] << 8 | _bytes[offset + 2] << 16 | _bytes[offset + 3] << 24);
        }

        private ulong ReadU64(long offset) => ReadU32(offset) | (ulong)ReadU32(offset + 4) << 32;

        private void RequireInFile(long offset, long length) =>
            Require(offset >= 0 && offset + length <= _bytes.Length, "a read at offset " + offset + " runs past the end of the file");
    }
}
