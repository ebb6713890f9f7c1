#![forbid(unsafe_code)]
//! Transports frame bytes into messages and attach the caller's identity: stdio, and the Unix
//! socket (the same framing, the peer named by the kernel).

pub mod framing;
pub mod stdio;
pub mod unix;
