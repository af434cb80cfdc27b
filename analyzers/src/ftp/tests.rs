//! ftp analyzer tests.
