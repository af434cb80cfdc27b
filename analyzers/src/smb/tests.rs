//! smb analyzer tests.
