"""Recipes, the runner that reproduces them and the report writer."""
