"""Capture engine: pcap/pcapng readers, packet decoding, Zeek-compatible flows and metadata tables."""
