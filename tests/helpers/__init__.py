"""Helpers shared by test files (plain functions; fixtures live in the conftest files)."""
