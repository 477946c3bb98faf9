"""Tests of fieldapp.city."""
