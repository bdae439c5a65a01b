"""Figures for staff: the console's dashboard."""
