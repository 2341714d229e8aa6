"""Tests of spatialforge.train."""
