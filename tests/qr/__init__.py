"""Tests of fieldapp.qr."""
