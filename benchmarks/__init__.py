"""Benchmark commands: each starts what it needs, drives load on loopback and prints figures."""
