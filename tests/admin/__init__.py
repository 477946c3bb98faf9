"""Tests of fieldapp.admin."""
