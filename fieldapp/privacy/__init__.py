"""Residents' rights: find, copy and erase their data, purge and backups, the requests register.

May import: the core, tally, sync, reports and admin.
"""
