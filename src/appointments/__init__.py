"""Clinic appointments backend."""
