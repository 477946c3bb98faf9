"""Tests of fieldapp.tally."""
