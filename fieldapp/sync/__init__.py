"""The phone ⇄ server contract: its rules (contract), the API, the OpenAPI document, outboxes.

May import: the core, tally and field.
"""
