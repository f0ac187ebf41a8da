"""Seeding: the reference city, history, real 311 imports and database statistics."""
