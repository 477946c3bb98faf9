"""Tests of fieldapp.field."""
