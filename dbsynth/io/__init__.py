"""Talking to databases: connecting, creating the target schema, bulk loading."""
