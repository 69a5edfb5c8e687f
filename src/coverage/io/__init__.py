"""Data in: a project's files read, mapped, checked and converted.

The bottom layer of the library (``docs/architecture.md``): it knows files, columns and rows,
nothing of roads, access or plans. :mod:`~coverage.io.project` reads ``project.toml``,
:mod:`~coverage.io.schema` holds the data model's columns, :mod:`~coverage.io.readers` reads
CSV, XLSX and GeoPackage files (UTF-8 or GBK), :mod:`~coverage.io.columns` maps and converts a
layer's columns, :mod:`~coverage.io.layers` reads one layer and converts its places to WGS-84,
:mod:`~coverage.io.parts` lists and writes a layer kept as a folder of GeoParquet parts and
:mod:`~coverage.io.partitioned` reads it (all parts, or a few for work split by partition),
:mod:`~coverage.io.study_area` places the layers in the study CRS and area,
:mod:`~coverage.io.loaders` assembles every layer into a :class:`~coverage.io.loaders.StudyData`,
:mod:`~coverage.io.validation` words the problems, :mod:`~coverage.io.privacy` hashes ID
numbers, :mod:`~coverage.io.boundaries` approximates missing community boundaries and
:mod:`~coverage.io.atomic` writes output files whole, one writer at a time.
"""
