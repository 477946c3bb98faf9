"""The counts: each defined once (counts), kept stored (store), summed for the city (rollup).

May import: the core.
"""
