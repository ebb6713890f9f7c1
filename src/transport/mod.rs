#![forbid(unsafe_code)]
//! Transports frame bytes into messages and attach the caller's identity. Today: stdio.

pub mod framing;
pub mod stdio;
