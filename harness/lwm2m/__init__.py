"""LwM2M codecs shared by the service and the virtual board: ids, TLV, link-format, SenML-JSON."""
