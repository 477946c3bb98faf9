"""Tests of fieldapp.reports."""
