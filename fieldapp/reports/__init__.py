"""What the ward sees and hands in: dashboards, downloads, the printable report, unit reports.

May import: the core, tally, field and sync.
"""
