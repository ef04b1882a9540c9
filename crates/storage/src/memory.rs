//! The memory backend (work in progress, helper S1).
