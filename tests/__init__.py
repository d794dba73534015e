"""Tests for the Athens Django proxy."""
