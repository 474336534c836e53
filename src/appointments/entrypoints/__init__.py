"""Edges that translate HTTP and the command line into use-case calls."""
