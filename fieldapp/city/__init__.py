"""The city administrator's wards, officers and campaigns, and the Department's roll-up.

May import: the core, tally, sync, reports and admin.
"""
