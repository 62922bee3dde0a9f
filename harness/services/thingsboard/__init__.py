"""A local ThingsBoard-style device service: an MQTT broker (amqtt) with ThingsBoard's device
credentials (access token, basic MQTT, X.509), device provisioning and a REST subset.

See docs/thingsboard.md. The service never imports harness.sim (the board is a black box).
"""
