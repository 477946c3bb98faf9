"""QR codes: the enrolment sheets, the contest poster and `flask enrol-link`.

May import: the core, tally and field.
"""
