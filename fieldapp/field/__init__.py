"""The phone's app: the PWA shell, service worker and manifest, and enrolment of a phone.

May import: the core and tally.
"""
