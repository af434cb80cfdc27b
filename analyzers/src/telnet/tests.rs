//! telnet analyzer tests.
