"""Territorial."""
