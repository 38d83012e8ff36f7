"""Detectors: traffic and log analyses that turn tables into findings for the analyst."""
