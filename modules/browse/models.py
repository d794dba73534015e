"""What the browsing UI shows of the cache, derived once and stored.

A cached version never changes, so everything a page shows of it (its requirements,
retractions and deprecation, its README rendered, its license, the index of its zip's
files) is computed once, when it is cached (modules/browse/digest.py), instead of on
every page view: a 15 MB go.mod or a zip of 300,000 files then costs its parse once,
not once per visitor (issue 20).

What depends on several versions (a module's @latest, which of its cached versions are
retracted, its deprecation) is a ModuleDigest, recomputed when a version of the module
is cached or evicted.

These rows are derived data: deleting them loses nothing, the pages rebuild them.
"""

from django.db import models


class VersionDigest(models.Model):
    """One cached version as its pages show it."""

    version = models.OneToOneField("modules.ModuleVersion", on_delete=models.CASCADE, primary_key=True, related_name="digest")
    # From the go.mod (the .mod file): its requirements are VersionRequirement rows;
    # retracts are [[low, high, rationale], ...] in file order, read only when the
    # module's digest is recomputed; deprecated is None when not deprecated.
    require_count = models.PositiveIntegerField(default=0)
    retracts = models.JSONField(default=list)
    deprecated = models.TextField(null=True, blank=True)
    # From the zip. readme_html is sanitized HTML (modules/browse/readme.py) with its
    # relative links pointing at `files/...` below the version page; readme_note says
    # why a README is shown as plain text or not at all.
    file_count = models.PositiveIntegerField(default=0)
    readme_path = models.TextField(blank=True, default="")
    readme_html = models.TextField(blank=True, default="")
    readme_note = models.TextField(blank=True, default="")
    license_path = models.TextField(blank=True, default="")
    license_name = models.TextField(blank=True, default="")
    zip_error = models.TextField(blank=True, default="")
    built_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"digest of {self.version_id}"


class VersionFile(models.Model):
    """One file of a cached zip: where it is and how to read it, so the file viewer
    reads one entry without parsing the zip's central directory again (7.6 s for a zip
    of 300,000 files).

    `position` is the file's place in the tree order the pages list files in; files are
    looked up by `path_hash` (a path can be longer than a B-tree index entry may be).
    """

    version = models.ForeignKey("modules.ModuleVersion", on_delete=models.CASCADE, related_name="files")
    position = models.PositiveIntegerField()
    path = models.BinaryField()  # the raw name relative to the module root (Go refuses non-UTF-8 names; a row stored before may have them)
    path_hash = models.BigIntegerField()
    size = models.BigIntegerField()
    compressed_size = models.BigIntegerField()
    method = models.PositiveSmallIntegerField()
    crc = models.BigIntegerField()
    flags = models.PositiveIntegerField()
    header_offset = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "position"], name="unique_version_file_position")]
        indexes = [models.Index(fields=["version", "path_hash"], name="versionfile_path_hash")]

    def __str__(self):
        return self.path


class VersionRequirement(models.Model):
    """One `require` of a cached version's go.mod, in file order (`position`), so a
    page of them is one indexed query however long the go.mod is."""

    version = models.ForeignKey("modules.ModuleVersion", on_delete=models.CASCADE, related_name="requirements")
    position = models.PositiveIntegerField()
    path = models.TextField()
    required = models.TextField()  # the required version
    indirect = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="unique_version_requirement_position"),
        ]

    def __str__(self):
        return f"{self.path} {self.required}"


class ModuleDigest(models.Model):
    """A module's @latest among its cached versions, which of them its authors retract
    and its deprecation, as the go command reads them: from the go.mod of the version
    @latest would pick ignoring retractions."""

    module = models.OneToOneField("modules.Module", on_delete=models.CASCADE, primary_key=True, related_name="digest")
    latest = models.CharField(max_length=255, blank=True, default="")
    deprecated = models.TextField(null=True, blank=True)
    retracted = models.JSONField(default=dict)  # {cached version: rationale ("" if none)}
    built_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"digest of {self.module_id}"
