"""The officer's setup: the campaign and its items, units, people, imports, phones.

May import: the core, tally, field, sync and reports.
"""
