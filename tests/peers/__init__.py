"""Peers we did not write (smpp34, Kannel), wrapped for the interop tests."""
