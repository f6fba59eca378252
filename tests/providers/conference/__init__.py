"""Tests of the conference-link providers (loopback fakes only, never the internet)."""
