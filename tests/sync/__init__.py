"""Tests of fieldapp.sync."""
