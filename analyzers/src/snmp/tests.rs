//! snmp analyzer tests.
