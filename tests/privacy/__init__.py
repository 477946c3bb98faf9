"""Tests of fieldapp.privacy."""
