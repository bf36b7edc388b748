"""Generators: one small interface (dbsynth.models.base.Generator) and a registry."""

from dbsynth.models.base import Generator, create, from_state, generator_names, register

__all__ = ["Generator", "create", "from_state", "generator_names", "register"]
