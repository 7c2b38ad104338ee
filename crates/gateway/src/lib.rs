//! The enforcement point: reverse proxy and forward-auth that decide, log durably, then forward.
#![forbid(unsafe_code)]
