"""Parsing: what engines send, turned into typed events by pure functions."""
