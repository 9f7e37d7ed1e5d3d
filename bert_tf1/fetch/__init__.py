"""Weights and data that install offline from the package registries."""
