"""What the example application and the client library print on the console.

Lines follow PelionIoT/mbed-cloud-client-example (`source/pdmc_example.cpp`,
`source/application_init.cpp`); trace lines use the mbed-trace layout `[LEVEL][group]: text`.
The virtual board prints these; the harness reads any board with the dialect regexes of its
firmware manifest (harness.client.dialect), which must match these lines.
"""

from __future__ import annotations

# --- application lines (pdmc_example.cpp / application_init.cpp) ------------------------------
START_CLIENT = "Start Device Management Client"
STARTING_DEVELOPER_FLOW = "Starting developer flow"
DEVELOPER_CREDENTIALS_EXIST = "Developer credentials already exist, continuing.."
DEVELOPER_CREDENTIALS_FAILED = "Failed to load developer credentials"
STORAGE_RESET = "Resets storage to an empty state."
"""application_init.cpp `reset_storage()`: a developer device whose stored set fails the start-up
check is wiped and given its compiled-in credentials again (tests/peers/
test_peer_pdmc_corrupt_storage.py)."""
APPLICATION_READY = "Application ready. Build at: {build}"
PDMC_VERSION = "PDMC version {version}"
NETWORK_READY = "Network initialized, registering..."
REGISTERED = "Client registered"
ENDPOINT_NAME = "Endpoint Name: {name}"
DEVICE_ID = "Device ID: {device_id}"
REGISTRATION_UPDATED = "Client registration updated"
UNREGISTERED = "Client unregistered - Exiting application"
FACTORY_RESET_TRIGGERED = "Factory reset resource triggered"
SETUP_FAILED = "PDMC setup failed"
VERSION_LINE = "Device Management Client version {version}"

# --- factory flow lines (factory-configurator-client-example) ---------------------------------
FACTORY_READY = "Factory flow begins..."
FACTORY_DONE = "Factory flow done"
FACTORY_FAILED = "Factory flow failed, waiting for a new session"

# --- mbed-trace lines of the client library (group mClt) --------------------------------------
TRACE_BOOTSTRAP_START = "[INFO][mClt]: Client bootstrapping to {uri}"
TRACE_BOOTSTRAPPED = "[INFO][mClt]: Client bootstrapped"
TRACE_REGISTERING = "[INFO][mClt]: Client registering to {uri}"
TRACE_UPDATING = "[INFO][mClt]: Client updating registration"
TRACE_REBOOTSTRAP = "[INFO][mClt]: Client re-bootstrapping in {delay:.1f} s"
TRACE_RETRY = "[INFO][mClt]: Client reconnecting in {delay:.1f} s"
TRACE_REBOOT = "[INFO][mClt]: Reboot requested by server"

# --- error descriptions (ConnectorClient.cpp, m2minterfaceimpl.cpp, m2mnsdlinterface.cpp) -----
DETAILS_SECURE_RETRY = "Client in reconnection mode SecureConnectionFailed"
DETAILS_NETWORK_RETRY = "Client in reconnection mode NetworkError"
DETAILS_REGISTRATION_REJECTED = "LWM2M server rejected client registration"
DETAILS_REBOOTSTRAP = "Re-bootstrapping"
DETAILS_NO_SECURITY_OBJECT = "No security object found for Registration"
DETAILS_STORE_FAILED = "Failed to store LWM2M credentials"
DETAILS_READ_FAILED = "Failed to read credentials from storage"
DETAILS_READ_FAILED_FINAL = "Client cannot connect anymore Failed to read credentials"
DETAILS_BS_PUT_FAILED = "BS PUT fails :{path}"
DETAILS_BS_DELETE_FAILED = "BS DEL fails :{path}"
DETAILS_BS_FINISH_FAILED = "BS FIN fails :{reason}"
