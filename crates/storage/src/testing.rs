//! The backend conformance suite (work in progress, helper S1).
